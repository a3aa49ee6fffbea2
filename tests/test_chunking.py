"""Sentence splitting and passages: offsets map back exactly, nothing over the token limit."""

from __future__ import annotations

import itertools

import pytest

from index.articles.chunking import chunk_text
from index.articles.sentences import sentence_spans
from index.model.embedder import Embedder


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. J. Brown in the U.S. capital. Prices rose 3.5% in 2009! Why?",
            [
                "Mr. Smith met Dr. J. Brown in the U.S. capital.",
                "Prices rose 3.5% in 2009!",
                "Why?",
            ],
        ),
        (
            'He said: "It is over." Then he left.',
            ['He said: "It is over."', "Then he left."],
        ),
        (
            "Организация основана в 2009 г. в Нахчыване. Т.е. давно. «Это важно», — сказал он.",
            [
                "Организация основана в 2009 г. в Нахчыване.",
                "Т.е. давно.",
                "«Это важно», — сказал он.",
            ],
        ),
        (
            "Türk Devletleri Teşkilatı 2009 yılında kuruldu. Dr. Ahmet vb. kişiler katıldı.",
            ["Türk Devletleri Teşkilatı 2009 yılında kuruldu.", "Dr. Ahmet vb. kişiler katıldı."],
        ),
        (
            "Türk Dövlətləri Təşkilatı 2009-cu ildə yaradılıb. Prof. Əliyev çıxış etdi.",
            ["Türk Dövlətləri Təşkilatı 2009-cu ildə yaradılıb.", "Prof. Əliyev çıxış etdi."],
        ),
        (
            "Түркі мемлекеттері ұйымы 2009 ж. құрылды. Бұл маңызды.",
            ["Түркі мемлекеттері ұйымы 2009 ж. құрылды.", "Бұл маңызды."],
        ),
        ("Line one\nLine two.", ["Line one", "Line two."]),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


ARTICLE = (
    "\n\n".join(
        " ".join(
            f"Sentence {p}.{i} says that the summit in Gabala discussed trade and energy."
            for i in range(1 + p % 7)
        )
        for p in range(30)
    )
    + "\n\n"
    + "A run-on sentence without an end " * 120
)


def test_passages_map_back_and_stay_under_the_limit(embedder: Embedder) -> None:
    limit = 60
    spans = chunk_text(
        ARTICLE, embedder.token_spans, target_tokens=50, max_tokens=limit, overlap_tokens=15
    )
    assert len(spans) > 10
    for span in spans:
        piece = ARTICLE[span.start : span.end]
        assert piece == piece.strip() and piece
        # Counted again by the real tokenizer on the passage as a whole.
        assert len(embedder.token_spans([piece])[0]) <= limit
    # Every sentence is inside some passage.
    for s, e in sentence_spans(ARTICLE[: ARTICLE.index("A run-on")]):
        assert any(p.start <= s and e <= p.end for p in spans)
    # The run-on sentence was cut at token boundaries, in order, covering it all.
    tail = [p for p in spans if p.start >= ARTICLE.index("A run-on")]
    assert len(tail) >= 3 and tail[-1].end == len(ARTICLE.rstrip())


def test_neighbours_overlap_inside_a_paragraph_only(embedder: Embedder) -> None:
    paragraph = " ".join(f"Fact number {i} is stated in this sentence." for i in range(40))
    text = paragraph + "\n\n" + paragraph
    spans = chunk_text(
        text, embedder.token_spans, target_tokens=60, max_tokens=120, overlap_tokens=20
    )
    overlaps = [b.start < a.end for a, b in itertools.pairwise(spans)]
    assert any(overlaps)
    boundary = text.index("\n\n")
    crossing = [(a, b) for a, b in itertools.pairwise(spans) if a.end <= boundary < b.end]
    assert crossing and all(b.start > boundary for _, b in crossing)


def test_real_model_limit_is_respected(embedder: Embedder) -> None:
    # The model reads 256 tokens; the title and specials take some.
    assert 200 < embedder.max_tokens <= 254


def test_long_titles_are_cut_and_every_passage_fits(embedder: Embedder) -> None:
    """Each passage is read with its article's title (tokenized once for all the articles),
    a title cut to `TITLE_TOKENS` tokens; title and passage together fit the model."""
    from index.articles.article import Article
    from index.build.pipeline import TITLE_TOKENS, plan_articles
    from index.settings import Settings

    long_title = " ".join(f"Heading{i}" for i in range(60))
    body = " ".join(f"Sentence {i} tells of the Caspian ferry and its cargo." for i in range(300))
    articles = [
        ("a.txt", Article(id="a", text=body, title=long_title)),
        ("b.txt", Article(id="b", text=body[:400], title="Short title")),
    ]
    long_plan, short_plan = plan_articles(Settings(chunk_tokens=160), embedder, articles)
    cut = long_plan.inputs[0].split("\n")[0]
    assert long_title.startswith(cut) and len(cut) < len(long_title)
    assert len(embedder.token_spans([cut])[0]) <= TITLE_TOKENS
    assert all(text.startswith(cut + "\n") for text in long_plan.inputs)
    assert len(long_plan.inputs) > 3
    assert all(len(s) <= embedder.max_tokens for s in embedder.token_spans(long_plan.inputs))
    assert short_plan.inputs == ["Short title\n" + body[:400]]
