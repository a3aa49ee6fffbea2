"""A fetched page turned into an article file of the corpus: its main text extracted with
trafilatura (as `.html` articles are), saved as Markdown with front matter."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

import yaml

from index.articles import Article, decode_text, read_html
from index.errors import ArticleError

from .errors import FeedError
from .fetch import Page
from .parse import Item

MIN_TEXT = 200  # characters: less is a teaser or a paywall, not an article
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def page_text(page: Page) -> str:
    """The page's HTML as text: the charset the server declares, else the page's own
    <meta charset>, else detected."""
    declared = re.search(r"charset=([A-Za-z0-9_.:-]+)", page.content_type or "")
    candidates = [declared.group(1)] if declared else []
    meta = _CHARSET.search(page.body[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    for charset in candidates:
        try:
            return page.body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return decode_text(page.body)
    except ArticleError as exc:
        raise FeedError(f"{page.url}: {exc}") from None


def article_from_page(page: Page, item: Item | None, source: str) -> Article:
    """The article a page holds, the feed's own title and date preferred when it has them."""
    if "html" not in page.content_type.lower() and not page.body.lstrip()[:1] == b"<":
        raise FeedError(f"{page.url}: not a web page ({page.content_type or 'no type'})")
    try:
        found = read_html("page.html", page_text(page))
    except ArticleError as exc:
        raise FeedError(f"{page.url}: {exc}") from None
    if len(found.text) < MIN_TEXT:
        raise FeedError(f"{page.url}: too little article text ({len(found.text)} characters)")
    return Article(
        id="",
        text=found.text,
        title=(item.title if item and item.title else found.title),
        date=(item.date if item and item.date else found.date),
        source=source or found.source,
        url=item.link if item else page.url,
        lang=found.lang,
        author=found.author,
    )


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe version of a title: letters of any script, digits, dashes."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_")
    return text[:limit].rstrip("-_") or "article"


def save_article(corpus_dir: Path, folder: str, article: Article) -> Path:
    """Write the article as `corpus/feeds/FOLDER/DATE-SLUG.md` (a new name if taken), whole
    or not at all (a temporary file renamed into place)."""
    target_dir = corpus_dir / "feeds" / slug(folder, 40)
    target_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{article.date or 'undated'}-{slug(article.title)}"
    meta = {
        key: value
        for key, value in (
            ("title", article.title),
            ("date", article.date),
            ("source", article.source),
            ("url", article.url),
            ("lang", article.lang),
            ("author", article.author),
        )
        if value
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    content = f"---\n{front}---\n\n{article.text.strip()}\n".encode()
    for number in range(1, 1000):
        path = target_dir / (f"{stem}.md" if number == 1 else f"{stem}-{number}.md")
        if not path.exists():
            break
    else:
        raise FeedError(f"too many articles named {stem} in {target_dir}")
    handle, temporary = tempfile.mkstemp(dir=target_dir, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.link(temporary, path)  # fails rather than overwrite a file made meanwhile
    finally:
        os.unlink(temporary)
    return path
