"""The bot's view of the index: asynchronous answers computed off the event loop, live reloads,
rebuilds in the background, and the figures `/stats` shows."""

from __future__ import annotations

import asyncio
import functools
import logging
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client import Histogram

from index.answer import Answer, Context, Hit, IndexInfo, Retriever
from index.backends import build_index
from index.build import BuildReport
from index.errors import KhabarError
from index.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


MAX_BATCH = 32
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class _Request:
    question: str
    k: int | None
    future: asyncio.Future[Answer]
    alone: bool = False
    context: Context | None = None


def _settle(request: _Request, outcome: Answer | BaseException) -> None:
    if request.future.done():  # the asker went away (cancelled)
        return
    if isinstance(outcome, BaseException):
        request.future.set_exception(outcome)
    else:
        request.future.set_result(outcome)


@dataclass(frozen=True)
class Timed:
    answer: Answer
    elapsed_ms: float


class AnswerService:
    """Answers questions from the published index; one worker thread runs the model."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="khabar-encode")
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="khabar-build")
        self._build_lock = asyncio.Lock()
        self.answered = 0
        self.declined = 0
        self._times: deque[float] = deque(maxlen=1000)
        self.latency = Histogram(  # read by /metrics (health.py); registered there, not globally
            "khabar_answer_seconds",
            "From a question reaching the bot to its answer being ready",
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        # Called with the ids of the articles a newer index added (for /follow's alerts).
        self.on_new_articles: Callable[[set[str]], Awaitable[None]] | None = None
        self._known_articles = {a.id for a in self.retriever.articles()}
        self._alerting: set[asyncio.Task[None]] = set()
        self._waiting: list[_Request] = []
        self._draining = False
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0

    async def answer(
        self, question: str, k: int | None = None, context: Context | None = None
    ) -> Timed:
        """The answer to one question; `context`, the asker's previous question, for a
        follow-up (`Retriever.answer_many`). Questions that arrive while the model is busy
        wait together and are answered in one batch next (no added delay when the bot is
        idle)."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        request = _Request(question, k, loop.create_future(), context=context)
        self._waiting.append(request)
        if not self._draining:
            self._draining = True
            self._drainer = loop.create_task(self._drain())
        answer = await request.future
        elapsed = (time.perf_counter() - started) * 1000
        self.answered += 1
        self.declined += 0 if answer.found else 1
        self._times.append(elapsed)
        self.latency.observe(elapsed / 1000)
        return Timed(answer, elapsed)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                self.batches += 1
                try:
                    answers = await loop.run_in_executor(
                        self._encoder,
                        self.retriever.answer_many,
                        [r.question for r in batch],
                        [r.k for r in batch],
                        [r.context for r in batch],
                    )
                except Exception as exc:
                    if len(batch) == 1 and batch[0].context is None:
                        _settle(batch[0], exc)
                        continue
                    # One bad question must not fail the others: ask them one by one.
                    self._waiting[:0] = [
                        _Request(r.question, r.k, r.future, alone=True, context=r.context)
                        for r in batch
                    ]
                    await self._drain_alone(loop)
                    continue
                for request, answer in zip(batch, answers, strict=True):
                    _settle(request, answer)
        finally:
            self._draining = False

    async def _drain_alone(self, loop: asyncio.AbstractEventLoop) -> None:
        """The failed batch's questions one by one; a follow-up that fails in its
        conversation gets its answer alone."""
        while self._waiting and self._waiting[0].alone:
            request = self._waiting.pop(0)
            try:
                answer = await self._answer_alone(loop, request)
            except Exception as exc:
                _settle(request, exc)
            else:
                _settle(request, answer)

    async def _answer_alone(self, loop: asyncio.AbstractEventLoop, request: _Request) -> Answer:
        ask = self.retriever.answer
        if request.context is None:
            return await loop.run_in_executor(self._encoder, ask, request.question, request.k)
        try:
            return await loop.run_in_executor(
                self._encoder, ask, request.question, request.k, request.context
            )
        except Exception:
            log.warning("answering a follow-up in its conversation failed", exc_info=True)
            return await loop.run_in_executor(self._encoder, ask, request.question, request.k)

    async def warm_up(self) -> None:
        """Load the model in the worker thread right after start-up, so the first reader does
        not wait for it (polling starts at once; this runs beside it)."""
        loop = asyncio.get_running_loop()
        self.retriever.embedder.preload()  # tokenizer and ONNX session side by side
        try:
            await loop.run_in_executor(self._encoder, self.retriever.encode, ["warm-up"])
            if self.retriever.reader is not None:  # the reader's session too
                await loop.run_in_executor(self._encoder, self.retriever.reader.warm_up)
        except Exception as exc:  # the first question will report it properly
            log.warning("could not warm up the model: %s", exc)

    @property
    def waiting(self) -> int:
        """Questions queued behind the batch the model is answering now."""
        return len(self._waiting)

    def median_ms(self) -> float:
        return round(statistics.median(self._times), 1) if self._times else 0.0

    def info(self) -> IndexInfo:
        return self.retriever.info()

    async def refresh(self) -> bool:
        """Switch to a newer published index if there is one (loading it off the event loop)."""
        loop = asyncio.get_running_loop()
        try:
            switched = await loop.run_in_executor(self._builder, self.retriever.refresh)
        except KhabarError as exc:
            log.warning("a newer index could not be loaded: %s", exc)
            return False
        if switched:
            log.info("switched to the index built at %s", self.retriever.info().manifest.built_at)
            now = {a.id for a in self.retriever.articles()}
            new, self._known_articles = now - self._known_articles, now
            if new and self.on_new_articles is not None:  # in the background: a rebuild's
                task = loop.create_task(self._alert(new))  # editor need not wait for alerts
                self._alerting.add(task)
                task.add_done_callback(self._alerting.discard)
        return switched

    async def _alert(self, new: set[str]) -> None:
        assert self.on_new_articles is not None
        try:
            await self.on_new_articles(new)
        except Exception as exc:  # alerts must never stop the reloads
            log.warning("alerting about new articles failed: %s", exc, exc_info=True)

    async def matches(self, topics: list[str], article_ids: set[str]) -> dict[str, Hit]:
        """For each topic, the best passage of `article_ids` when they answer it by the same
        decision as every answer (`Retriever.answer_within`); topics they do not answer are
        left out. One topic at a time on the model's thread, so questions go between them."""
        found = {}
        for topic in topics:
            answer = await self.on_model_thread(
                functools.partial(self.retriever.answer_within, topic, article_ids)
            )
            if answer.found:
                found[topic] = answer.shown[0]
        return found

    async def on_model_thread(self, work: Callable[[], T]) -> T:
        """Run `work` (which uses the model) on the model's thread, between questions."""
        return await asyncio.get_running_loop().run_in_executor(self._encoder, work)

    async def watch(self, every: float) -> None:
        """Keep picking up indexes rebuilt by `khabar index build`, without a restart."""
        while True:
            await asyncio.sleep(every)
            await self.refresh()

    @property
    def building(self) -> bool:
        return self._build_lock.locked()

    async def rebuild(self) -> BuildReport:
        """An incremental build in the background; answers keep coming from the old index."""
        async with self._build_lock:
            loop = asyncio.get_running_loop()
            report = await loop.run_in_executor(
                self._builder,
                lambda: build_index(self.settings, embedder=self.retriever.embedder),
            )
            await self.refresh()
            return report

    def close(self) -> None:
        self._encoder.shutdown(wait=False, cancel_futures=True)
        self._builder.shutdown(wait=False, cancel_futures=True)
