"""The one Settings object: built once at start-up from the environment and `.env`, passed down."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IDS_HELP = "a list of numeric ids, like [123, -100456] or 123,-100456"


class Settings(BaseSettings):
    """Every setting of Khabar. Environment variables beat `.env`; see `.env.example`."""

    model_config = SettingsConfigDict(
        env_prefix="KHABAR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- articles and the index -------------------------------------------------------------
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("data/index")
    data_dir: Path = Path("data")
    models_dir: Path | None = None  # None: data_dir/models
    model: str = "multilingual-e5-small"
    runtime: Literal["onnx-int8", "onnx", "torch"] = "onnx"
    query_prompt: str | None = None
    passage_prompt: str | None = None
    chunk_tokens: int = Field(default=320, ge=16, le=2048)
    chunk_overlap_tokens: int = Field(default=40, ge=0, le=512)
    # 16: the fastest and leanest on 2 cores (400 bbc articles: 43 s and 1,391 MiB at most,
    # against 47 s and 1,541 MiB with 32; docs/benchmarks.md).
    embed_batch_size: int = Field(default=16, ge=1, le=1024)
    # Index builds of many passages on torch in bfloat16 (autocast): "auto" when the CPU has
    # AMX or AVX-512 BF16, about 2.5x faster there, vectors at cosine 0.99999 to float32.
    bulk_encoder: Literal["auto", "onnx", "torch", "torch-bf16"] = "auto"
    max_article_bytes: int = Field(default=5_000_000, ge=1)
    ann_min_vectors: int = Field(default=50_000, ge=1)
    ann_nprobe: int = Field(default=16, ge=1, le=65536)
    # PostgreSQL + pgvector instead of the FAISS folder (see docs/scaling.md): a URL such as
    # postgresql://user:password@host:5432/khabar. Reads go to the replica URL when given.
    database_url: SecretStr | None = None
    database_read_url: SecretStr | None = None
    database_index: str = Field(default="main", pattern=r"^[a-z0-9_]{1,40}$")
    hnsw_ef_search: int = Field(default=100, ge=1, le=1000)

    # --- answering ----------------------------------------------------------------------------
    results: int = Field(default=5, ge=1, le=20)
    retriever: Literal["dense", "lexical", "hybrid"] = "hybrid"
    hybrid_weight: float = Field(default=0.03, ge=0, le=10)
    score_threshold: float | None = None  # None: the measured default of the model
    # Lexical search across languages: a question in ru, az, kk, tr or uz also searches its
    # stems' English stems, from a lexicon learned from parallel sentences (docs/lexicon.md);
    # "off": each language's own words only. `lexicon_path`: another one ("khabar lexicon train").
    lexicon: Literal["on", "off"] = "on"
    lexicon_path: Path | None = None
    excerpt_max_sentences: int = Field(default=3, ge=1, le=10)
    excerpt_max_words: int = Field(default=72, ge=10, le=400)
    # How sentences get the vectors that choose the excerpt: "pooled" from the passage's own
    # token embeddings (free), or "encoded" each on its own (about 2x the indexing time; 8
    # points better excerpts across languages: docs/quality.md).
    sentence_vectors: Literal["pooled", "encoded"] = "pooled"
    # Khabar's reader (docs/reader.md): reads the question with the top passages, shows the
    # one that answers first with the answer in bold, and decides when to decline.
    reader: Literal["on", "off"] = "on"
    # How many of the first passages the reader reads: the first decides whether Khabar answers,
    # and another is shown first only when it beats it (`reader_switch`; docs/reader.md).
    reader_passages: int = Field(default=2, ge=1, le=20)
    # The reader's weights at answer time: float32, or int8 (1.7-1.9 times as fast, a point or
    # less fewer answers; docs/benchmarks.md, section 9).
    reader_precision: Literal["float32", "int8"] = "float32"
    # Other weights than the shipped ones (a folder "khabar reader train --out" wrote: its
    # reader.safetensors and reader.json, checked against each other); None: index/reader/weights,
    # and index/reader/weights-across for the reader across languages.
    reader_weights: Path | None = None
    reader_across_weights: Path | None = None
    # Span score minus no-answer score from which a passage answers; None: the shipped value.
    reader_threshold: float | None = None
    # In one language, under this the reader's score plus 250 x the cosine's margin over its
    # threshold says "found nothing" (index/answer/decision.py); None: the shipped value.
    reader_floor: float | None = None
    # The same line across languages (question and passage in different ones); None: the
    # shipped value (the cosine rule decides there when the reader's card has none).
    reader_cross_floor: float | None = None
    # Across languages (a question in one, the passage in another), the pair is read by a second
    # reader, trained on from the first with more such pairs (index/reader/weights-across); its
    # card gives the threshold and the floor there. off: the first reads every pair.
    reader_across: Literal["on", "off"] = "on"
    # Across languages, how sure the reader must be that a passage answers; None: the card's of
    # the reader that reads such pairs (the second's; the first's with `reader_across` off).
    reader_cross_threshold: float | None = None
    # The passages after the first are read only when the first answers (a declined question
    # shows nothing), and not by this margin over the threshold; None: whenever it answers.
    # A follow-up answered alone by this margin is not searched again with its conversation.
    reader_confident: float | None = 2.0
    # With several passages read, another is shown first only when its reader score plus 250 x
    # its cosine (over the first's) beats the first passage search found by this many logits.
    reader_switch: float = Field(default=2.0, ge=0.0)
    # Where a question asks for a year, a number or a percentage (in any of the six languages),
    # the reader's span is such an answer, when it scores at most `reader_kind_margin` under the
    # best span of any kind ("inf": always; index/reader/kinds.py, docs/reader.md).
    reader_kinds: Literal["on", "off"] = "on"
    reader_kind_margin: float = Field(default=float("inf"), ge=0.0)
    # With the reader on, a passage holding nothing of the kind a question asks for (no year, no
    # percentage, no count: "how many" of a passage whose numbers are all years or ordinals)
    # does not answer it, however sure the reader is: the next passage read decides
    # (index/answer/decision.py, index/reader/kinds.py, docs/reader.md).
    reader_kind_check: Literal["on", "off"] = "on"
    # Across languages, logits a unit of a sentence's match with the question (the reader's own
    # token states, late interaction) adds to the span's score there where the span and the
    # excerpt are chosen; 0: the span's score alone (index/reader/runtime.py, docs/reader.md).
    reader_match_weight: float = Field(default=50.0, ge=0.0, le=1000.0)
    # Where a question names a country and the passage that answers it names others too, the
    # reader reads the question asked about each of those; when one of them takes the answer's
    # words by this many logits more, the answer is that country's and Khabar declines
    # ("inf": not checked; index/reader/contrast.py, docs/reader.md).
    reader_contrast_margin: float = Field(default=1.0)
    # How much the reader's belief of which sentence holds the answer counts when the excerpt is
    # chosen, beside the question's words and the model's similarity (each 0-1); 0: not at all.
    reader_excerpt_weight: float = Field(default=1.0, ge=0.0, le=10.0)

    # --- Telegram -------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "KHABAR_TELEGRAM_BOT_TOKEN"),
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        validation_alias=AliasChoices("TELEGRAM_API_URL", "KHABAR_TELEGRAM_API_URL"),
    )
    allowed_chats: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    answers_per_minute: int = Field(default=20, ge=1)
    telegram_max_rate: float = Field(default=30, gt=0)
    typing_after_seconds: float = Field(default=0.3, ge=0)
    log_questions: bool = False
    # A question leans on the one before it (same user, same chat) asked within this many
    # minutes: when it finds nothing alone, it is answered within the article that answered the
    # one before ("Where was it founded?"). Kept in memory only; 0: every question stands alone.
    followup_minutes: float = Field(default=10, ge=0, le=1440)
    max_upload_bytes: int = Field(default=2_000_000, ge=1)
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    # /healthz and /metrics (bot/health.py) on this port; None: not served.
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None
    reload_check_seconds: float = Field(default=2.0, gt=0)

    # --- feeds, alerts, what readers miss -------------------------------------------------------
    # How often the running bot polls the feeds of `khabar feeds add`, in seconds; 0: never.
    feed_interval: float = Field(default=900, ge=0)
    feed_timeout: float = Field(default=20, gt=0)
    feed_max_page_bytes: int = Field(default=3_000_000, ge=1000)
    feed_items_per_poll: int = Field(default=30, ge=1)
    # Fetch feeds and pages on private or local addresses (off: a pasted link cannot reach
    # the machine's own services).
    feed_allow_private: bool = False
    # Topics each chat may /follow at most.
    follow_max_topics: int = Field(default=20, ge=1, le=200)
    # Keep the questions Khabar declined (text and time only, never who asked; 90 days) for
    # the editors' /gaps. Off by default: questions are personal data.
    gaps: bool = False

    @field_validator("allowed_chats", "admin_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        """Ids as a JSON list (`[1, 2]`) or separated by commas or spaces (`1, 2`)."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                raise ValueError(IDS_HELP) from None
        return [part for part in re.split(r"[\s,]+", text) if part]

    @property
    def precision(self) -> str:
        """The precision of the vectors `runtime` makes (ONNX float32 equals torch's)."""
        return "int8" if self.runtime == "onnx-int8" else "float32"

    @property
    def model_cache(self) -> Path:
        """Where converted and exported models are kept (made once, reused by every index)."""
        return self.models_dir or self.data_dir / "models"

    def secrets(self) -> list[str]:
        """Every secret value in the settings, for the log redactor: the bot token, the
        webhook secret, and the database URLs with their passwords."""
        from .redact import url_password

        found = []
        for secret in (
            self.telegram_bot_token,
            self.webhook_secret,
            self.database_url,
            self.database_read_url,
        ):
            if secret is None:
                continue
            value = secret.get_secret_value()
            password = url_password(value)
            found += [value, password] if password else [value]
        return found

    @property
    def store_options(self) -> dict[str, int]:
        return {"ann_min_vectors": self.ann_min_vectors, "nprobe": self.ann_nprobe}

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced (ignores None values: unset CLI flags)."""
        real = {k: v for k, v in changes.items() if v is not None}
        if not real:
            return self
        # Init arguments beat the environment and .env, so this re-validates without re-reading.
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self)(_env_file=None, **{**values, **real})  # type: ignore[call-arg]
