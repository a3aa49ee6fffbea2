"""The test server's Telegram-HTML parser accepts exactly what Telegram accepts."""

from __future__ import annotations

import pytest

from bot.testserver.telegram_html import HtmlError, parse_html


def test_plain_text_and_entities_with_utf16_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>bold</b> &amp; <i>it</i> <a href="https://x.y/?a=1&amp;b=2">link</a>'
    )
    assert text == "😀 bold & it link"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "italic", "offset": 10, "length": 2},
        {"type": "text_link", "url": "https://x.y/?a=1&b=2", "offset": 13, "length": 4},
    ]


@pytest.mark.parametrize(
    "source",
    [
        "<b>a</b><strong>b</strong><i>c</i><em>d</em><u>e</u><ins>f</ins><s>g</s><strike>h</strike>",
        '<del>x</del><span class="tg-spoiler">y</span><tg-spoiler>z</tg-spoiler><code>c</code>',
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>',
        "<blockquote expandable>long</blockquote>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "<b>bold <i>both</i></b> &lt;tag&gt; &quot;q&quot; &#65; &#x42; a & b",
        '<a href="tg://user?id=123">someone</a>',
    ],
)
def test_accepted(source: str) -> None:
    parse_html(source)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<div>x</div>", 'unsupported start tag "div"'),
        ("<b>x", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "unexpected end tag"),
        ("&nbsp;", 'unsupported HTML entity "&nbsp;"'),
        ("a < b", "unsupported start tag"),
        ("<span>x</span>", 'unsupported start tag "span"'),
        (
            "<blockquote><blockquote>x</blockquote></blockquote>",
            'unsupported start tag "blockquote"',
        ),
        ("<code><b>x</b></code>", 'unsupported start tag "b"'),
        ("&#0;", "invalid character code"),
    ],
)
def test_refused_with_telegram_wording(source: str, error: str) -> None:
    with pytest.raises(HtmlError, match="Can't parse entities") as info:
        parse_html(source)
    assert error in str(info.value)


def test_pre_with_language() -> None:
    _, entities = parse_html('<pre><code class="language-python">x</code></pre>')
    assert entities == [{"type": "pre", "language": "python", "offset": 0, "length": 1}]
