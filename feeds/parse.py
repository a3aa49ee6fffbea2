"""Reading an RSS or Atom feed's items with feedparser (which also copes with broken XML)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from urllib.parse import urljoin

import feedparser

from .errors import FeedError
from .fetch import check_url


@dataclass(frozen=True)
class Item:
    key: str  # the item's guid, or its link: what makes it "already seen"
    link: str
    title: str
    date: str | None  # ISO date of publication, when the feed gives one
    summary: str


@dataclass(frozen=True)
class FeedDoc:
    title: str
    items: list[Item]


def parse_feed(body: bytes, url: str) -> FeedDoc:
    """The feed's title and items (links made absolute; items without an http(s) link are
    left out). Raises `FeedError` when the body is not a feed at all."""
    doc = feedparser.parse(body, response_headers={"content-location": url})
    if not doc.entries and (doc.bozo or not doc.get("version")):
        reason = getattr(doc.get("bozo_exception"), "getMessage", lambda: "")() or "no items"
        raise FeedError(f"{url} is not an RSS or Atom feed ({reason})")
    items = []
    for entry in doc.entries:
        link = _link(entry, url)
        if link is None:
            continue
        key = str(entry.get("id") or link).strip()[:2000]
        items.append(
            Item(
                key=key,
                link=link,
                title=" ".join(str(entry.get("title") or "").split())[:500],
                date=_date(entry),
                summary=str(entry.get("summary") or "")[:5000],
            )
        )
    return FeedDoc(" ".join(str(doc.feed.get("title") or "").split())[:200], items)


def _link(entry: feedparser.FeedParserDict, base: str) -> str | None:
    raw = str(entry.get("link") or "").strip()
    if not raw:
        return None
    try:
        return check_url(urljoin(base, raw))
    except FeedError:
        return None


def _date(entry: feedparser.FeedParserDict) -> str | None:
    for field in ("published_parsed", "updated_parsed"):
        parsed = entry.get(field)
        if parsed:
            stamp = calendar.timegm(parsed)
            return dt.datetime.fromtimestamp(stamp, dt.UTC).date().isoformat()
    return None
