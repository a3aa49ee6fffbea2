"""Reading articles: files of every format (Markdown, text, HTML pages, JSON lines) in any of
the archive's encodings become `Article` values, cut into passages along sentences; and the
stemmed words lexical search reads. Pure text work: no model, no index, no network.
"""

from .article import Article, FileResult, clean_text, derive_title, titled
from .encoding import decode_text
from .formats import READER_VERSION, SUFFIXES, iter_corpus_files, read_article_bytes

__all__ = [
    "READER_VERSION",
    "SUFFIXES",
    "Article",
    "FileResult",
    "clean_text",
    "decode_text",
    "derive_title",
    "iter_corpus_files",
    "read_article_bytes",
    "read_html",
    "titled",
]


def read_html(rel_path: str, html: str) -> Article:
    """A news page's title, date and main text (`html.py`); trafilatura, slow to import, is
    loaded on the first page."""
    from .html import read_html as read

    return read(rel_path, html)
