"""Property-based tests (hypothesis) of everything that reads hostile text: the article readers,
the chunker (with the real tokenizer), the excerpt selection and the reply renderer.

Each property runs `EXAMPLES` generated inputs (more with HYPOTHESIS_EXAMPLES=N). Every rendered
reply is checked by the local Bot API server's own Telegram-HTML parser, which refuses what
Telegram refuses.
"""

from __future__ import annotations

import json
import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import render
from bot.testserver.telegram_html import parse_html, utf16_len
from index.answer.excerpt import choose_excerpt
from index.answer.hits import Hit
from index.articles.chunking import chunk_text
from index.articles.formats import SUFFIXES, clean_text, read_article_bytes
from index.errors import ArticleError
from index.model.embedder import Embedder

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text as hostile as it gets: every plane of Unicode, plus the characters that break things.
NASTY = [
    "\x00",
    "\u202e",
    "\u202d",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u0301",
    "\u0489",
    "\r",
    "\r\n",
    "\t",
    "\x0b",
    "\x1b",
    "\ud7ff",
    "\U0001f4a5",
    "\U0001f1e6\U0001f1ff",
    "👩‍👩‍👧",
    "ﷺ",
    "𒐫",
    "<",
    ">",
    "&",
    "&amp;",
    "&#0;",
    '"',
    "'",
    "`",
    "<script>alert(1)</script>",
    "</blockquote>",
    "<b>",
    "<a href='javascript:alert(1)'>x</a>",
    "---",
    "\n---\n",
    "...",
    "Mr.",
    "!?",
    "«»",
    "الف",
    "שלום",
    "Азербайджан",
    "Türkiyə",
    "Қазақстан",
    "2009",
    " ",
    "\n\n",
]
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=30)), max_size=60).map(
    "".join
)
urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<b>x</b>",
            "https://ok.example/a?b=1&c=<x>",
            "http://ok.example/\"onmouseover='x'",
            "https://example.com/path",
            "ftp://example.com/",
            "//example.com/x",
            "https://exa mple.com",
            "tg://user?id=1",
        ]
    ),
    st.text(max_size=40),
)
front_value = st.one_of(nasty_text, urls.map(str), st.integers().map(str), st.just("[1, {"))


def _front_matter(fields: dict[str, str]) -> str:
    return "---\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in fields.items()) + "---\n"


articles_bytes = st.one_of(
    st.binary(max_size=2000),
    nasty_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(
        st.dictionaries(
            st.sampled_from(["title", "date", "source", "url", "lang", "author", "x"]),
            front_value,
            max_size=6,
        ),
        nasty_text,
    ).map(lambda p: (_front_matter(p[0]) + p[1]).encode("utf-8", "surrogatepass")),
    st.tuples(st.text(max_size=10), nasty_text).map(
        lambda p: f"---\n{p[0]}: [unclosed\n---\n{p[1]}".encode("utf-8", "surrogatepass")
    ),
    nasty_text.map(
        lambda s: f"<html><head><title>{s}</title></head><body><p>{s}</p>".encode(
            "utf-8", "surrogatepass"
        )
    ),
    st.lists(
        st.one_of(
            st.dictionaries(
                st.sampled_from(["title", "text", "url", "date", "id"]), front_value, max_size=5
            ).map(json.dumps),
            nasty_text,
        ),
        max_size=5,
    ).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")


@PROPERTY
@given(suffix=st.sampled_from([*SUFFIXES, ".exe", ""]), data=articles_bytes)
def test_readers_never_crash_and_keep_only_safe_fields(suffix: str, data: bytes) -> None:
    try:
        result = read_article_bytes(f"some/file{suffix}", data)
    except ArticleError as exc:
        assert str(exc)  # a clear reason, nothing else escapes
        return
    for article in result.articles:
        assert article.title.strip() and article.text.strip()
        assert not _CONTROL.search(article.text) and not _CONTROL.search(article.title)
        assert article.url is None or render.safe_url(article.url) == article.url
        assert article.date is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", article.date)
    assert all(isinstance(p, str) and p for p in result.problems)


@PROPERTY
@given(text=nasty_text, target=st.integers(8, 80), extra=st.integers(0, 40))
def test_passages_cover_the_text_within_the_limit(
    embedder: Embedder, text: str, target: int, extra: int
) -> None:
    text = clean_text(text)  # the chunker reads article text, which the readers have cleaned
    limit = target + extra
    spans = chunk_text(text, embedder.token_spans, target, limit, overlap_tokens=extra // 2)
    previous = -1
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.start > previous  # in order
        previous = span.start
        assert span.tokens <= limit
    covered = [False] * len(text)
    for span in spans:
        covered[span.start : span.end] = [True] * (span.end - span.start)
    missing = [c for c, seen in zip(text, covered, strict=True) if not seen and not c.isspace()]
    assert not missing, missing[:10]


@PROPERTY
@given(
    passage=nasty_text,
    question=nasty_text,
    max_sentences=st.integers(1, 5),
    max_words=st.integers(10, 80),
)
def test_excerpt_lies_inside_the_passage(
    passage: str, question: str, max_sentences: int, max_words: int
) -> None:
    excerpt = choose_excerpt(passage, question, max_sentences=max_sentences, max_words=max_words)
    assert 0 <= excerpt.start <= excerpt.best_start <= excerpt.best_end <= excerpt.end
    assert excerpt.end <= len(passage)
    if passage.strip():
        assert len(passage[excerpt.start : excerpt.end].split()) <= max(
            max_words, len(passage[excerpt.best_start : excerpt.best_end].split())
        )


@st.composite
def hits(draw: st.DrawFn) -> Hit:
    before, passage_text = draw(nasty_text), draw(nasty_text)
    size = draw(st.sampled_from([0, 1, 10, 3000, 9000]))
    passage = passage_text + "x " * size
    start = len(before)
    end = start + len(passage)
    cut = sorted(draw(st.lists(st.integers(start, end), min_size=4, max_size=4)))
    return Hit(
        rank=0,
        score=draw(st.floats(-1, 1)),
        article_id=draw(nasty_text),
        title=draw(nasty_text) or "t",
        date=draw(st.one_of(st.none(), st.sampled_from(["2025-10-18", "0001-01-01"]), nasty_text)),
        source=draw(st.one_of(st.none(), nasty_text)),
        url=draw(urls),
        lang=draw(st.one_of(st.none(), st.sampled_from(["en", "ru", "xx"]))),
        passage=passage,
        passage_start=start,
        passage_end=end,
        excerpt=passage[cut[0] - start : cut[3] - start],
        excerpt_start=cut[0],
        excerpt_end=cut[3],
        answer_start=draw(st.sampled_from([cut[1], 0, end + 5])),
        answer_end=draw(st.sampled_from([cut[2], cut[1], -1])),
        sentence_score=0.5,
    )


def _valid_reply(reply: render.Reply) -> None:
    text, _ = parse_html(reply.html)  # raises what Telegram would answer: can't parse entities
    assert 0 < utf16_len(text.strip()) <= 4096
    for row in reply.buttons:
        for button in row:
            assert (button.data is None) != (button.url is None)
            if button.url is not None:
                assert re.match(r"https?://", button.url, re.IGNORECASE)
                assert render.safe_url(button.url) == button.url
            else:
                assert button.data is not None and 1 <= len(button.data.encode()) <= 64
    links = re.findall(r'<a href="([^"]*)"', reply.html)
    assert all(re.match(r"https?://", link, re.IGNORECASE) for link in links)


@PROPERTY
@given(
    hit=hits(),
    index=st.integers(0, 4),
    whole=st.booleans(),
    lang=st.sampled_from(["en", "ru", "az", "kk", "tr", "uz", None]),
)
def test_every_reply_is_valid_telegram_html_within_4096(
    hit: Hit, index: int, whole: bool, lang: str | None
) -> None:
    from bot.messages.i18n import language

    lang_code = language(lang)
    _valid_reply(render.render_hit(hit, index, 5, lang_code, "zz", whole=whole))
    _valid_reply(render.render_not_found([hit, hit], lang_code))
