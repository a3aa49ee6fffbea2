"""News pages: title, date and main text with boilerplate (menus, ads, footers) dropped."""

from __future__ import annotations

import re

import trafilatura

from ..errors import ArticleError
from .article import Article, as_date, as_str, as_url, clean_text, derive_title

_HTML_LANG = re.compile(r"<html[^>]*\blang=[\"']?([A-Za-z]{2,3})\b", re.IGNORECASE)


def read_html(rel_path: str, html: str) -> Article:
    doc = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
    )
    text = clean_text(getattr(doc, "text", None) or "") if doc is not None else ""
    if not text:
        raise ArticleError("no article text found in the HTML page")
    assert doc is not None
    title = as_str(getattr(doc, "title", None)) or derive_title(text)
    first, _, rest = text.partition("\n")
    if first.strip() == title and rest.strip():
        text = rest  # the page's headline repeated as the first line
    text = re.sub(r"\n+", "\n\n", text)  # each extracted block is a paragraph
    lang = as_str(getattr(doc, "language", None))
    if not lang:
        match = _HTML_LANG.search(html[:4096])
        lang = match.group(1).lower() if match else None
    return Article(
        id=rel_path,
        text=text,
        title=title,
        date=as_date(getattr(doc, "date", None)),
        source=as_str(getattr(doc, "sitename", None) or getattr(doc, "hostname", None)),
        url=as_url(getattr(doc, "url", None)),
        lang=lang,
        author=as_str(getattr(doc, "author", None)),
    )
