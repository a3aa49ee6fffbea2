# One command to run Khabar, one to test it. Both create .venv in the checkout and install
# everything first; only Python 3.11 is needed beforehand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.khabar-installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: otherwise pip resolves a multi-gigabyte CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/khabar index build
	$(BIN)/khabar run

test: $(STAMP)
	$(BIN)/ruff check khabar bot index feeds tests bench
	$(BIN)/mypy khabar bot index feeds
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check khabar bot index feeds tests bench
	$(BIN)/ruff format --check khabar bot index feeds tests bench
	$(BIN)/mypy khabar bot index feeds

# Benchmarks take their inputs as arguments (see docs/benchmarks.md); SHARED points at the
# evaluation sets and the benchmark corpus. Results go to bench/results/*.json.
SHARED ?= ../shared
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,bench]"
	$(BIN)/python bench/build/bench_index.py $(SHARED)/bench/bbc-news \
		--questions $(SHARED)/eval/realtimeqa-dev/questions.jsonl --keep data/bench
	$(BIN)/python bench/load/bench_load.py data/bench/corpus --index-dir data/bench/index \
		--questions $(SHARED)/eval/realtimeqa-dev/questions.jsonl
	$(BIN)/python bench/build/bench_vectors.py --sizes 100000 1000000
	$(BIN)/python bench/load/bench_chat.py -n 100
	$(BIN)/python bench/quality/eval_sets.py $(SHARED)/eval

clean:
	rm -rf $(VENV) data
