"""One round over every registered feed, and the one-off link an editor sends: new items'
pages fetched, extracted and saved into the corpus. A feed that fails, or returns garbage,
is recorded and skipped; it never stops the others."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from index.settings import Settings

from .errors import FeedError
from .fetch import Fetcher, check_url
from .pages import article_from_page, save_article
from .parse import parse_feed
from .registry import Registry

log = logging.getLogger(__name__)
LINKS = "links"  # the registry's pseudo-feed for links editors send


@dataclass
class PollReport:
    saved: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (link, why)
    feeds_failed: list[tuple[str, str]] = field(default_factory=list)  # (feed, why)
    seconds: float = 0.0


def fetcher_for(settings: Settings) -> Fetcher:
    return Fetcher(
        timeout=settings.feed_timeout,
        max_bytes=settings.feed_max_page_bytes,
        allow_private=settings.feed_allow_private,
    )


def host_name(url: str) -> str:
    host = urlsplit(url).hostname or "web"
    return host.removeprefix("www.")


def describe(settings: Settings, url: str) -> str:
    """Fetch a feed once to check that it is one; its title (or host) names the source."""
    fetcher = fetcher_for(settings)
    try:
        page = fetcher.get(check_url(url))
        return parse_feed(page.body, url).title or host_name(url)
    finally:
        fetcher.close()


def poll(
    settings: Settings,
    registry: Registry,
    fetcher: Fetcher | None = None,
    stop: threading.Event | None = None,
) -> PollReport:
    """Poll every feed once; the new articles are saved under `corpus/feeds/` (not indexed:
    the caller runs the incremental build). `stop` ends the round between two fetches (the
    bot shutting down); what was saved stays saved, the rest waits for the next round."""
    stop = stop or threading.Event()
    started = time.perf_counter()
    own = fetcher is None
    fetcher = fetcher or fetcher_for(settings)
    report = PollReport()
    try:
        for feed in registry.feeds():
            if stop.is_set():
                break
            try:
                page = fetcher.get(feed.url)
                doc = parse_feed(page.body, feed.url)
            except Exception as exc:  # any feed's failure is that feed's alone
                why = str(exc) if isinstance(exc, FeedError) else f"{type(exc).__name__}: {exc}"
                log.warning("feed %s failed: %s", feed.url, why)
                registry.feed_polled(feed.url, why[:500])
                report.feeds_failed.append((feed.url, why))
                continue
            registry.feed_polled(feed.url, None)
            now = time.time()
            for item in doc.items[: settings.feed_items_per_poll]:
                if stop.is_set():
                    break
                if not registry.wanted(feed.url, item.key, item.link, now):
                    continue
                try:
                    article = article_from_page(fetcher.get(item.link), item, feed.source)
                    path = save_article(settings.corpus_dir, feed.source, article)
                except Exception as exc:
                    retry = not isinstance(exc, FeedError) or exc.retry
                    why = str(exc) if isinstance(exc, FeedError) else f"{type(exc).__name__}: {exc}"
                    log.info("feed item %s not saved (%s): %s", item.link, retry, why)
                    registry.failed(feed.url, item.key, item.link, item.title, why, retry)
                    report.failed.append((item.link, why))
                    continue
                rel = path.relative_to(settings.corpus_dir).as_posix()
                registry.saved(feed.url, item.key, item.link, article.title, rel)
                report.saved.append(path)
                log.info("feed item saved: %s -> %s", item.link, rel)
    finally:
        if own:
            fetcher.close()
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class Added:
    path: Path
    title: str
    known: bool  # the link was in the archive already (nothing fetched)


def add_link(settings: Settings, registry: Registry, url: str) -> Added:
    """Fetch one article page an editor sent and save it under `corpus/feeds/links/`."""
    url = check_url(url)
    known = registry.saved_path(url)
    if known is not None:
        return Added(settings.corpus_dir / known, "", known=True)
    fetcher = fetcher_for(settings)
    try:
        article = article_from_page(fetcher.get(url), None, host_name(url))
    finally:
        fetcher.close()
    path = save_article(settings.corpus_dir, LINKS, article)
    registry.saved(LINKS, url, url, article.title, path.relative_to(settings.corpus_dir).as_posix())
    return Added(path, article.title, known=False)
