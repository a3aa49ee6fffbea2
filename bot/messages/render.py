"""Turning hits into Telegram messages: pure functions, no network, no model.

Every value from an article or a user goes through `html.escape`; every reply is Telegram HTML
whose text, once parsed, stays within Telegram's 4096 characters (UTF-16 code units): a long
quote is shortened at a sentence or word boundary before it is marked up, never inside a tag.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from index.answer import Answer, Hit
from index.articles import Article

from .buttons import ShowHit, ShowSources
from .i18n import format_date, t

MAX_MESSAGE = 4096
MAX_TITLE = 200
MARGIN = 64  # room for the citation's separators and the "2/5" counter
SOURCES_PAGE = 10


@dataclass(frozen=True)
class Button:
    text: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Reply:
    html: str
    buttons: list[list[Button]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def safe_url(url: str | None) -> str | None:
    """Only absolute http(s) links without spaces or quotes survive."""
    if url and re.fullmatch(r"https?://[^\s<>\"'`]+", url, re.IGNORECASE):
        return url
    return None


def squeeze(text: str) -> str:
    """Whitespace runs shown as one space (quotes keep their words, not their layout)."""
    return re.sub(r"\s+", " ", text).strip()


def shorten(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units: cut after a sentence if one ends late enough, else a word."""
    if utf16_len(text) <= limit:
        return text
    if limit <= 1:  # no room for a word: at most the ellipsis
        return "…"[: max(limit, 0)]
    cut = text[: limit - 1]
    while cut and utf16_len(cut) > limit - 1:  # astral characters count twice
        cut = cut[:-1]
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence_end > len(cut) // 2:
        return cut[: sentence_end + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > len(cut) // 2 else cut).rstrip() + "…"


def citation(title: str, url: str | None, source: str | None, date: str | None, lang: str) -> str:
    """Title (a link when there is a url), source, date — escaped HTML."""
    title = shorten(squeeze(title), MAX_TITLE) or "—"
    link = safe_url(url)
    head = (
        f'<a href="{html.escape(link, quote=True)}">{html.escape(title)}</a>'
        if link
        else f"<b>{html.escape(title)}</b>"
    )
    rest = [
        html.escape(shorten(squeeze(p), MAX_TITLE)) for p in (source, format_date(date, lang)) if p
    ]
    return " · ".join([head, *rest])


def _quote_parts(hit: Hit, whole: bool) -> tuple[str, str, str]:
    """The quote split around the answering sentence: (before, answer, after), plain text."""
    if whole:
        start, end, text = hit.passage_start, hit.passage_end, hit.passage
    else:
        start, end = hit.excerpt_start, hit.excerpt_end
        text = hit.passage[start - hit.passage_start : end - hit.passage_start]
    a = max(hit.answer_start, start) - start
    b = min(hit.answer_end, end) - start
    if not 0 <= a < b <= len(text):
        return "", text, ""
    return text[:a], text[a:b], text[b:]


def render_hit(hit: Hit, index: int, total: int, lang: str, qid: str, whole: bool = False) -> Reply:
    """One result: the quote with its answer in bold, the citation, and the buttons."""
    cite = citation(hit.title, hit.url, hit.source, hit.date, lang)
    counter = f" · {index + 1}/{total}" if total > 1 else ""
    budget = MAX_MESSAGE - MARGIN - utf16_len(html.unescape(re.sub(r"<[^>]+>", "", cite)))
    parts = _quote_parts(hit, whole)
    # A space between the bold part and its context only where the text has one: the reader's
    # answer can end inside a phrase ("in <b>2009</b>, the").
    gap_before = " " if parts[0][-1:].isspace() or parts[1][:1].isspace() else ""
    gap_after = " " if parts[1][-1:].isspace() or parts[2][:1].isspace() else ""
    before, answer, after = (squeeze(p) for p in parts)
    before, answer, after = _fit(before, answer, after, budget)
    quote = (
        html.escape(before)
        + (gap_before if before else "")
        + f"<b>{html.escape(answer)}</b>"
        + (gap_after if after else "")
        + html.escape(after)
    )
    text = f"<blockquote>{quote}</blockquote>\n{cite}{counter}"
    return Reply(text, hit_buttons(hit, index, total, lang, qid, whole))


def _fit(before: str, answer: str, after: str, budget: int) -> tuple[str, str, str]:
    """Shorten the context first, then the answer itself, to fit the budget."""
    if utf16_len(before) + utf16_len(answer) + utf16_len(after) + 2 <= budget:
        return before, answer, after
    answer = shorten(answer, budget - 2)
    room = budget - utf16_len(answer) - 2
    after = shorten(after, max(room // 2, 0)) if after else after
    room -= utf16_len(after)
    before = _shorten_left(before, room) if before else before
    return before, answer, after


def _shorten_left(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    if limit < 2:
        return ""
    tail = text[-(limit - 1) :]
    space = tail.find(" ")
    return "…" + (tail[space + 1 :] if 0 <= space < len(tail) // 2 else tail)


def hit_buttons(
    hit: Hit, index: int, total: int, lang: str, qid: str, whole: bool
) -> list[list[Button]]:
    nav = []
    if index > 0:
        nav.append(Button(t(lang, "prev"), data=ShowHit(qid, index - 1).data))
    if index + 1 < total:
        nav.append(Button(t(lang, "next"), data=ShowHit(qid, index + 1).data))
    toggle = ShowHit(qid, index, whole=not whole)
    second = [Button(t(lang, "excerpt" if whole else "whole"), data=toggle.data)]
    link = safe_url(hit.url)
    if link:
        second.append(Button(t(lang, "open"), url=link))
    return [row for row in (nav, second) if row]


def render_answer(answer: Answer, lang: str, qid: str) -> Reply:
    """The reply to a question: its first excerpt, or "found nothing" naming the closest."""
    if not answer.found:
        return render_not_found(answer.hits, lang)
    reply = render_hit(answer.shown[0], 0, len(answer.shown), lang, qid)
    if answer.continued_from is None:
        return reply
    # Said first, so a reader who meant something new knows why this article (and /new).
    title = f"<i>{html.escape(shorten(squeeze(answer.continued_from), 80))}</i>"
    note = html.escape(t(lang, "continued", title="{title}")).format(title=title)
    return Reply(f"{note}\n{reply.html}", reply.buttons)


def render_not_found(hits: list[Hit], lang: str) -> Reply:
    text = html.escape(t(lang, "not_found"))
    titles = list(dict.fromkeys(shorten(squeeze(h.title), 80) for h in hits[:3]))
    if titles:
        named = ", ".join(f"<i>{html.escape(title)}</i>" for title in titles)
        text += "\n" + t(lang, "closest", titles=named)
    return Reply(text)


def render_sources(articles: list[Article], page: int, lang: str) -> Reply:
    """One page of the article list, with buttons to page through it."""
    if not articles:
        return Reply(html.escape(t(lang, "no_articles")))
    pages = (len(articles) + SOURCES_PAGE - 1) // SOURCES_PAGE
    page = min(max(page, 0), pages - 1)
    chunk = articles[page * SOURCES_PAGE : (page + 1) * SOURCES_PAGE]
    first = page * SOURCES_PAGE + 1
    lines = [
        html.escape(
            t(lang, "sources_title", first=first, last=first + len(chunk) - 1, total=len(articles))
        )
    ]
    for number, article in enumerate(chunk, start=first):
        lines.append(
            f"{number}. " + citation(article.title, article.url, article.source, article.date, lang)
        )
    nav = []
    if page > 0:
        nav.append(Button(t(lang, "prev"), data=ShowSources(page - 1).data))
    if page + 1 < pages:
        nav.append(Button(t(lang, "next"), data=ShowSources(page + 1).data))
    return Reply("\n".join(lines), [nav] if nav else [])
