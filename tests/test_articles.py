"""Readers for every article format, and what they do with broken input."""

from __future__ import annotations

import json

import pytest

from index.articles.formats import derive_title, iter_corpus_files, read_article_bytes
from index.errors import ArticleError
from tests.conftest import SHIPPED_CORPUS, write

HTML_PAGE = """<!doctype html><html lang="en"><head><title>Ferry | Example News</title>
<meta property="og:title" content="Caspian ferry line opens between Baku and Aktau">
<meta property="article:published_time" content="2025-09-14T08:00:00Z">
<meta property="og:site_name" content="Example News">
<link rel="canonical" href="https://news.example.com/caspian-ferry"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> Subscribe now to our newsletter</nav>
<article><h1>Caspian ferry line opens between Baku and Aktau</h1>
<p>A new ferry line between the ports of Baku and Aktau began regular service on Sunday,
carrying both passengers and freight across the Caspian Sea.</p>
<p>The operator said the crossing takes about eighteen hours and that two vessels will run
the route each week, with a third expected next spring.</p>
<p>Officials in both countries described the line as part of the Middle Corridor linking
China and Europe through Central Asia and the Caucasus.</p></article>
<footer>Copyright 2025 Example News. All rights reserved. Cookie policy.</footer>
</body></html>"""


def one(name: str, data: str | bytes):  # type: ignore[no-untyped-def]
    raw = data.encode("utf-8") if isinstance(data, str) else data
    result = read_article_bytes(name, raw)
    assert len(result.articles) == 1
    return result.articles[0]


def test_markdown_front_matter() -> None:
    a = one(
        "a/b.md",
        "---\ntitle: Gas deal\ndate: 2024-03-05\nsource: Kazinform\nurl: https://x.kz/1\n"
        "lang: kk\nauthor: A. B.\n---\nBody text here.\n",
    )
    assert (a.id, a.title, a.date, a.source, a.url, a.lang, a.author) == (
        "a/b.md",
        "Gas deal",
        "2024-03-05",
        "Kazinform",
        "https://x.kz/1",
        "kk",
        "A. B.",
    )
    assert a.text == "Body text here."


def test_markdown_heading_is_title_when_no_front_matter() -> None:
    a = one("x.md", "# The headline\n\nFirst paragraph.\n")
    assert a.title == "The headline"
    assert a.text == "First paragraph."


def test_plain_text_first_line_title_like_bbc() -> None:
    a = one("business/001.txt", "Ad sales boost Time Warner profit\n\nQuarterly profits rose.\n")
    assert a.title == "Ad sales boost Time Warner profit"
    assert a.text == "Quarterly profits rose."
    assert a.date is None


def test_date_prefix_like_the_seed() -> None:
    a = one("seed.txt", " date 2025-10-18 BAKU, Azerbaijan, October 18. The OTS met.\n\nMore.")
    assert a.date == "2025-10-18"
    assert a.text.startswith("BAKU, Azerbaijan")
    assert a.title.startswith("BAKU, Azerbaijan, October 18")


def test_shipped_seed_article_has_its_metadata() -> None:
    files = list(iter_corpus_files(SHIPPED_CORPUS))
    assert files, "the seed article must be in corpus/"
    seed = one(files[0].relative_to(SHIPPED_CORPUS).as_posix(), files[0].read_bytes())
    assert (seed.date, seed.source) == ("2025-10-18", "Trend")
    assert "Founded in 2009" in seed.text and seed.title


def test_html_news_page_drops_boilerplate() -> None:
    a = one("world/ferry.html", HTML_PAGE)
    assert a.title == "Caspian ferry line opens between Baku and Aktau"
    assert a.date == "2025-09-14"
    assert a.url == "https://news.example.com/caspian-ferry"
    assert a.source == "Example News"
    assert "eighteen hours" in a.text
    assert "Subscribe" not in a.text and "Cookie" not in a.text


def test_jsonl_one_article_a_line_with_a_bad_line_reported() -> None:
    lines = [
        json.dumps(
            {
                "title": "One",
                "text": "First text.",
                "url": "https://a.az/1",
                "date": "2025-01-02",
                "source": "APA",
            }
        ),
        "{not json",
        "",
        json.dumps({"text": "No title given here, so one is derived from these words of text."}),
        json.dumps({"title": "Empty"}),
    ]
    result = read_article_bytes("feed.jsonl", "\n".join(lines).encode())
    ids = [a.id for a in result.articles]
    assert ids == ["feed.jsonl#1", "feed.jsonl#4"]
    assert result.articles[0].source == "APA" and result.articles[0].date == "2025-01-02"
    assert result.articles[1].title.startswith("No title given here")
    assert len(result.problems) == 2
    assert "line 2" in result.problems[0] and "line 5" in result.problems[1]


def test_latin1_text_is_detected() -> None:
    text = "Café owner's résumé\n\nThe café in Zürich serves crème brûlée to señoras."
    a = one("sport/199.txt", text.encode("latin-1"))
    assert a.title == "Café owner's résumé"
    assert "crème brûlée" in a.text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (
            "Саммит ОТГ\n\nОрганизация тюркских государств основана в 2009 году в Нахчыване.",
            "cp1251",
        ),
        (
            "Саммит ОТГ\n\nОрганизация тюркских государств основана в 2009 году в Нахчыване.",
            "koi8_r",
        ),
        (
            "Zirve\n\nTürk Devletleri Teşkilatı 2009 yılında Nahçıvan'da kuruldu, üyeler görüştü.",
            "cp1254",
        ),
    ],
)
def test_legacy_encodings_of_the_region(text: str, encoding: str) -> None:
    a = one("legacy.txt", text.encode(encoding))
    assert a.title + "\n\n" + a.text == text


def test_bbc_style_pound_sign_is_latin1_not_japanese() -> None:
    a = one("sport/199.txt", "Chelsea sack Mutu\n\nA £15.8m signing from Parma.".encode("latin-1"))
    assert "£15.8m" in a.text


def test_utf16_with_bom() -> None:
    a = one("ru.txt", "Заголовок\n\nТекст статьи о саммите.".encode("utf-16"))
    assert a.title == "Заголовок"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.md", b"", "empty"),
        ("blank.txt", b"  \n\n ", "empty"),
        ("bin.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("fm.md", b"---\ntitle: [unclosed\n---\nText.", "front matter is not valid YAML"),
        ("fm2.md", b"---\n- a list\n---\nText.", "front matter must be"),
        ("only.md", b"---\ntitle: Nothing else\n---\n", "no text"),
        ("x.pdf", b"%PDF-1.4", "unsupported file type"),
    ],
)
def test_broken_files_raise_a_clear_error(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        read_article_bytes(name, data)


def test_hostile_urls_are_dropped() -> None:
    a = one("u.md", "---\ntitle: T\nurl: javascript:alert(1)\n---\nText.")
    assert a.url is None
    b = one("v.md", "---\ntitle: T\nurl: 'https://ok.example/a\"onmouseover=x'\n---\nText.")
    assert b.url is None


def test_control_characters_are_removed_but_text_kept() -> None:
    a = one("c.txt", "Title\n\nText\u200b with\x07 controls\r\nand CRLF.")
    assert a.text == "Text with controls\nand CRLF."


def test_derived_title_is_short() -> None:
    assert derive_title("one two three") == "one two three"
    long = derive_title(" ".join(f"w{i}" for i in range(40)))
    assert long.endswith("…") and len(long.split()) == 12


def test_corpus_walk_includes_subfolders_and_skips_hidden(tmp_path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "a.md", "x")
    write(tmp_path, "sub/deeper/b.txt", "x")
    write(tmp_path, ".git/c.md", "x")
    write(tmp_path, "notes.docx", "x")
    write(tmp_path, ".draft.md", "x")
    write(tmp_path, "sub/.cache/d.md", "x")
    write(tmp_path, "sub-z/E.MD", "x")
    write(tmp_path, "sub/a.md", "x")
    rel = [p.relative_to(tmp_path).as_posix() for p in iter_corpus_files(tmp_path)]
    # sorted by path components, as before: "sub/..." comes before "sub-z/..."
    assert rel == ["a.md", "sub/a.md", "sub/deeper/b.txt", "sub-z/E.MD"]
