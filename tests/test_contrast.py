"""Whose answer is it (`index/reader/contrast.py`): the question asked about the passage's other
countries, and when their reading refutes the answer. Pure, no model; the real reader's check
is in tests/test_reader.py."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from index.reader.contrast import contrasts, refuted

# The seed article's first sentence: Azerbaijan's president, on his visit to Kazakhstan.
PASSAGE = (
    "The Organization of Turkic States plays a key role in strengthening the ties between "
    "Azerbaijan and Kazakhstan, said President of the Republic of Azerbaijan Ilham Aliyev ahead "
    "of his state visit to Kazakhstan. President Ilham Aliyev said so."
)


@pytest.mark.parametrize(
    ("question", "lang", "expected"),
    [
        ("Who is the president of Kazakhstan?", "en", "Who is the president of Azerbaijan?"),
        ("Кто является президентом Казахстана?", "ru", "Кто является президентом Азербайджана?"),
        ("Qazaxıstanın prezidenti kimdir?", "az", "Azərbaycanın prezidenti kimdir?"),
        ("Қазақстанның президенті кім?", "kk", "Әзірбайжанның президенті кім?"),
        ("Kazakistan'ın cumhurbaşkanı kimdir?", "tr", "Azerbaycan'ın cumhurbaşkanı kimdir?"),
        ("Qozogʻiston prezidenti kim?", "uz", "Ozarbayjon prezidenti kim?"),
    ],
)
def test_the_question_is_asked_about_the_other_country_in_its_own_language(
    question: str, lang: str, expected: str
) -> None:
    assert contrasts(question, lang, PASSAGE, "en") == [expected]


@pytest.mark.parametrize("typed", ["Qozog'iston", "Qozog‘iston", "Qozog’iston", "Qozog`iston"])
def test_uzbek_names_its_country_however_its_turned_comma_is_typed(typed: str) -> None:
    """Uzbek's gʻ and oʻ are often typed with an apostrophe or a quote: the country is the
    same, and so is the question about the other one, in a passage that types them so too."""
    question = f"{typed} prezidenti kim?"
    assert contrasts(question, "uz", PASSAGE, "en") == ["Ozarbayjon prezidenti kim?"]
    passage = "Ozarbayjon prezidenti Qozog'istonga va O‘zbekistonga tashrif buyurdi."
    assert contrasts(question, "uz", passage, "uz") == [
        "Ozarbayjon prezidenti kim?",
        "Oʻzbekiston prezidenti kim?",
    ]


def test_no_contrast_without_one_country_named_by_both() -> None:
    assert contrasts("Who founded the organization?", "en", PASSAGE, "en") == []
    # the question's country is not in the passage: nothing to swap it with
    assert contrasts("Who is the president of Mongolia?", "en", PASSAGE, "en") == []
    # two countries asked about: the question is not about one of them
    two = "What ties Azerbaijan and Kazakhstan?"
    assert contrasts(two, "en", PASSAGE, "en") == []
    # the passage names no other country
    alone = "Ilham Aliyev is the President of Azerbaijan."
    assert contrasts("Who is the president of Azerbaijan?", "en", alone, "en") == []
    # a passage in a language the country list does not cover
    assert contrasts("Who is the president of Kazakhstan?", "en", PASSAGE, "fr") == []


def test_the_country_is_found_in_its_own_spelling_when_the_language_is_guessed_wrong() -> None:
    # Azerbaijani without "ə" is guessed Turkish; "Qazaxıstan" is Azerbaijani's spelling
    assert contrasts("Qazaxıstanın prezidenti kimdir?", "tr", PASSAGE, "en") == [
        "Azərbaycanın prezidenti kimdir?"
    ]
    # a question in a language outside the six, naming a country as English does
    assert contrasts("Qui est le président du Kazakhstan ?", "fr", PASSAGE, "en") == [
        "Qui est le président du Azerbaijan ?"
    ]


def test_names_count_not_the_words_made_from_them() -> None:
    # "Americans" is a people, not the country; "Indian" names no country
    passage = "US troops will help Americans leave Ukraine, Russia said; an Indian ship waits."
    question = "Which country will US troops help Americans evacuate?"
    assert contrasts(question, "en", passage, "en") == []
    assert contrasts("Who leads Russia's navy?", "en", passage, "en") == [
        "Who leads Ukraine's navy?"
    ]
    # Russian adjectives are written small: "казахстанский" is not Kazakhstan
    assert contrasts("Кто президент Казахстана?", "ru", "казахстанский и Россия", "ru") == []
    # ... but a question typed in lower case names its country all the same
    assert contrasts("who is the president of kazakhstan?", "en", PASSAGE, "en") == [
        "who is the president of Azerbaijan?"
    ]
    assert contrasts("кто президент казахстана?", "ru", PASSAGE, "en") == [
        "кто президент Азербайджана?"
    ]


def test_at_most_two_other_countries_are_asked_about() -> None:
    many = "Kazakhstan, Russia, China, Turkey and Iran met in Astana."
    asked = contrasts("When did Kazakhstan join?", "en", many, "en")
    assert len(asked) == 2 and all("Kazakhstan" not in q for q in asked)


@dataclass(frozen=True)
class Span:
    score: float
    start: int
    end: int


def test_the_same_words_more_surely_for_another_country_refute_the_answer() -> None:
    first = PASSAGE.index("Ilham Aliyev")
    last = PASSAGE.rindex("Ilham Aliyev")
    answer = Span(6.2, last, last + len("Ilham Aliyev"))
    # the same mention, by the margin or more
    assert refuted(answer, [Span(7.2, last, last + 12)], 1.0, PASSAGE)
    assert not refuted(answer, [Span(7.1, last, last + 12)], 1.0, PASSAGE)
    # the same words at the other mention count as the same answer
    assert refuted(answer, [Span(8.1, first, first + 12)], 1.0, PASSAGE)
    # other words, however sure: the passage answers each country its own way
    other = PASSAGE.index("Kazakhstan")
    assert not refuted(answer, [Span(9.0, other, other + 10)], 1.0, PASSAGE)
    # an unread contrast refutes nothing; any one of several may
    assert not refuted(answer, [None], 1.0, PASSAGE)
    assert refuted(answer, [None, Span(8.0, last, last + 12)], 1.0, PASSAGE)
