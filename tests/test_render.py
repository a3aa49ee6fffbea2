"""Turning hits into Telegram messages: escaped, valid, within Telegram's limits."""

from __future__ import annotations

import pytest

from bot.messages import render
from bot.testserver.telegram_html import parse_html, utf16_len
from index.answer.hits import Hit
from index.articles.article import Article


def make_hit(
    passage: str, excerpt: tuple[int, int], answer: tuple[int, int], **meta: object
) -> Hit:
    values: dict[str, object] = {
        "title": "Title",
        "date": "2025-10-18",
        "source": "Trend",
        "url": "https://trend.az/a",
        "lang": "en",
    }
    values.update(meta)
    base = 100  # offsets are into the article; the passage starts at 100
    return Hit(
        rank=1,
        score=0.7,
        article_id="a.md",
        passage=passage,
        passage_start=base,
        passage_end=base + len(passage),
        excerpt=passage[excerpt[0] : excerpt[1]],
        excerpt_start=base + excerpt[0],
        excerpt_end=base + excerpt[1],
        answer_start=base + answer[0],
        answer_end=base + answer[1],
        sentence_score=0.7,
        **values,
    )  # type: ignore[arg-type]


def check(reply: render.Reply) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    text, entities = parse_html(reply.html)  # raises on anything Telegram would refuse
    assert 1 <= utf16_len(text.strip()) <= 4096
    for row in reply.buttons:
        for button in row:
            assert (button.data is None) != (button.url is None)
            assert button.data is None or 1 <= len(button.data.encode()) <= 64
    return text, entities


def test_answer_sentence_in_bold_inside_the_quote() -> None:
    passage = "First sentence. The answer is 2009. Last sentence."
    hit = make_hit(passage, (0, len(passage)), (16, 35))
    text, entities = check(render.render_hit(hit, 0, 3, "en", "abc"))
    assert text.startswith(
        "First sentence. The answer is 2009. Last sentence.\nTitle · Trend · 18 October 2025 · 1/3"
    )
    kinds = {e["type"]: e for e in entities}
    assert (
        text[kinds["bold"]["offset"] : kinds["bold"]["offset"] + kinds["bold"]["length"]]
        == "The answer is 2009."
    )
    assert kinds["blockquote"]["offset"] == 0 and kinds["text_link"]["url"] == "https://trend.az/a"


def test_an_answer_inside_a_phrase_keeps_the_spacing_of_the_text() -> None:
    passage = "Founded in 2009, on the land of Nakhchivan (Azerbaijan), it grew."
    start = passage.index("2009")
    hit = make_hit(passage, (0, len(passage)), (start, start + 4))
    text, entities = check(render.render_hit(hit, 0, 1, "en", "abc"))
    assert text.startswith(passage + "\n")
    [bold] = [e for e in entities if e["type"] == "bold"]
    assert text[bold["offset"] : bold["offset"] + bold["length"]] == "2009"
    inner = passage.index("Azerbaijan")
    hit = make_hit(passage, (0, len(passage)), (inner, inner + len("Azerbaijan")))
    text, _ = check(render.render_hit(hit, 0, 1, "en", "abc"))
    assert text.startswith(passage + "\n")


def test_buttons_navigation_whole_and_link() -> None:
    hit = make_hit("A. B.", (0, 2), (0, 2))
    first = render.render_hit(hit, 0, 3, "en", "q1")
    assert [[b.text for b in row] for row in first.buttons] == [
        ["Next ▶"],
        ["Whole passage", "Open article"],
    ]
    assert first.buttons[0][0].data == "n|q1|1" and first.buttons[1][0].data == "w|q1|0"
    middle = render.render_hit(hit, 1, 3, "ru", "q1", whole=True)
    assert [[b.text for b in row] for row in middle.buttons] == [
        ["◀ Назад", "Далее ▶"],
        ["Кратко", "Открыть статью"],
    ]
    single = render.render_hit(make_hit("A.", (0, 2), (0, 2), url=None), 0, 1, "en", "q")
    assert [[b.text for b in row] for row in single.buttons] == [["Whole passage"]]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", 'https://x.y/"onmouseover', "ftp://x"]
)
def test_hostile_urls_are_dropped(url: str) -> None:
    hit = make_hit("Text.", (0, 5), (0, 5), url=url)
    _text, entities = check(render.render_hit(hit, 0, 1, "en", "q"))
    assert not any(e["type"] == "text_link" for e in entities)
    assert all(
        b.url is None for row in render.render_hit(hit, 0, 1, "en", "q").buttons for b in row
    )


def test_hostile_text_is_escaped() -> None:
    passage = "<b>not bold</b> & </blockquote><script>x</script> &amp; done."
    hit = make_hit(
        passage, (0, len(passage)), (0, len(passage)), title="</a><i>T</i>", source="&lt;S&gt;"
    )
    text, _entities = check(render.render_hit(hit, 0, 1, "en", "q"))
    assert passage in text and "</a><i>T</i>" in text and "&lt;S&gt;" in text


def test_long_content_is_shortened_at_a_boundary_and_fits() -> None:
    sentence = "This sentence is one of many in a very long passage about the summit. "
    passage = sentence * 200
    hit = make_hit(
        passage,
        (0, len(passage)),
        (len(sentence) * 100, len(sentence) * 101 - 1),
        title="T" * 5000,
        source="S" * 5000,
    )
    text, _ = check(render.render_hit(hit, 0, 5, "en", "q", whole=True))
    assert "…" in text and utf16_len(text) <= 4096
    emoji = make_hit("😀" * 5000, (0, 10000), (0, 10000))
    check(render.render_hit(emoji, 0, 1, "en", "q"))


def test_not_found_names_the_closest_articles() -> None:
    hits = [make_hit("x", (0, 1), (0, 1), title=f"<T{i}>") for i in (1, 1, 2)]
    text, _ = check(render.render_not_found(hits, "en"))
    assert text == "I found nothing on that in the articles.\nClosest articles: <T1>, <T2>"
    assert check(render.render_not_found([], "ru"))[0] == "В статьях ничего об этом не нашлось."


def test_sources_are_paged() -> None:
    articles = [
        Article(id=f"{i}.md", text="", title=f"Article {i}", source="Src", date="2025-01-02")
        for i in range(1, 24)
    ]
    first = render.render_sources(articles, 0, "en")
    text, _ = check(first)
    assert text.startswith("Articles 1–10 of 23:") and "10. Article 10" in text
    assert [b.data for row in first.buttons for b in row] == ["s|1"]
    last = render.render_sources(articles, 99, "en")  # out of range: the last page
    assert check(last)[0].startswith("Articles 21–23 of 23:")
    assert [b.data for row in last.buttons for b in row] == ["s|1"]


def test_an_answer_longer_than_a_message_with_text_after_it_renders() -> None:
    """Found by the property tests: the context after an over-long answer had no room left,
    and shortening to zero characters never ended (the bot would hang on such a passage)."""
    assert render.shorten("word " * 10, 0) == "" and render.shorten("word " * 10, 1) == "…"
    answer = "Word " * 1500  # 7,500 characters: more than a message holds
    passage = answer + "And a sentence after it."
    hit = make_hit(passage, (0, len(passage)), (0, len(answer)))
    for whole in (False, True):
        reply = render.render_hit(hit, 0, 1, "en", "q", whole=whole)
        text, _ = parse_html(reply.html)
        assert utf16_len(text) <= 4096


def test_button_data_reads_back_as_written() -> None:
    from bot.messages import buttons
    from bot.messages.buttons import ShowHit, ShowSources

    for action in (ShowHit("q7", 0), ShowHit("q7", 4, whole=True), ShowSources(12)):
        assert buttons.parse(action.data) == action
        assert len(action.data.encode()) <= 64  # Telegram's limit on callback data
    assert buttons.parse("e|q7|2") == ShowHit("q7", 2)  # written by earlier versions
    for foreign in (None, "", "x|1", "n|q7|-1", "n||2", "s|two", "n|q7|2|9"):
        assert buttons.parse(foreign) is None
