"""The answer decision: answer or say "found nothing", and which hits a reader pages through.

One pure function, `decide`, used by every path that answers (the bot, `khabar ask`,
`khabar eval`), so they cannot disagree. With the reader on, its score for the passages it read
(span score minus no-answer score) falls in one of three zones:
- at or above `reader_threshold`: the reader found the answer; that passage is shown first,
  the answer in bold;
- under it, in one language: the reader's score and the cosine's margin over its threshold
  decide together, on one line: the passage answers when score + READER_COSINE_WEIGHT x margin
  >= `reader_floor`, and otherwise Khabar says it found nothing;
- across languages (a question in one language, the passage in another), the threshold is
  that of the reader that reads such pairs (`reader_cross_threshold`: the second reader's,
  `reader.routing`); under it, the same line against `reader_cross_floor`, that reader's card's
  own for such pairs, with how far the top hit's cosine leads the best passage of any other
  article counted as its margin is (`CROSS_READER_LEAD`); a card without a cross floor (a
  reader never trained on such pairs, whose scores there mean little) leaves it to the cosine
  rule, as with the reader off.
A passage whose answer the reader gives more surely to the question asked about another country
the passage names ("president of Azerbaijan" for "president of Kazakhstan": `Hit.contrast`,
`reader.contrast`) does not answer. With `Rule.kind_check`, a first passage that holds nothing of
the kind the question's words ask for ("how many" of a passage whose only numbers are years and
ordinals: `kinds.may_answer`) is passed over: the next passage read that may answer decides, as
if search had found it first, and with none Khabar says it found nothing (`passed_over`).
The passage search found first decides whether Khabar answers; which passage is shown first
is then the reader's to say, among the passages it read (`KHABAR_READER_PASSAGES`): the one
whose reader score plus READER_COSINE_WEIGHT x its cosine (over the first's) beats the first
passage's by `reader_switch` logits, else the first (`shown_first`; docs/reader.md, "Across
languages, continued"). Reading more passages so changes which excerpt is shown, never whether
one is.
The cosine rule: the cosine plus a bonus for the question's words, a lower bar across
languages, and across languages a lead over the other articles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..articles import lexical
from ..articles.article import titled
from ..reader import kinds
from .hits import Answer, Hit

if TYPE_CHECKING:
    from ..settings import Settings

# The best cosine under which Khabar says it found nothing, per model, set by measurement
# (bench/quality/decline_rule.py; docs/quality.md): e5's similarities are high and close together.
DEFAULT_THRESHOLDS = {"multilingual-e5-small": 0.832, "all-minilm-l6-v2": 0.30}
# The cosine gets a bonus for the share of the question's words found in the passage: for e5,
# at the same 90% of unanswerable questions declined, answerable ones declined fell from
# 15% to 4% (xquad-en) and 13% to 10% (news).
COVERAGE_WEIGHT = {"multilingual-e5-small": 0.04}
FALLBACK_THRESHOLD = 0.30
# Across languages (a Russian question, an English passage) the same model's cosines run
# lower: for e5, answerable Russian-to-English pairs sat 0.067 under English-to-English ones.
CROSS_LANGUAGE_OFFSET = {"multilingual-e5-small": 0.063}
# ... measured with Russian questions. In other languages, the same model's cosines to unrelated
# English passages run higher (bench/quality/language_shift.py: NTREX training sentences, each
# language's median cosine to unrelated English ones, over Russian's), and the offset is lowered
# by as much: without it, Kazakh questions the English news cannot answer were answered 95% of
# the time, with it 21% (docs/quality.md, issue 29).
CROSS_LANGUAGE_SHIFT = {
    "multilingual-e5-small": {"az": 0.019, "kk": 0.023, "tr": 0.007, "uz": 0.024},
}
# Across languages the cosine alone answers a third of unanswerable questions (Russian ones
# against English news). What tells them apart better is how far the top hit leads the best
# passage of any other article: an answer also needs cosine + weight x lead >= threshold
# (docs/quality.md: on held-out questions 82% of those declined instead of 64%, for 2.2
# points of answer@1).
CROSS_LANGUAGE_LEAD = {"multilingual-e5-small": (3.0, 0.80)}
# In one language, what a cosine's margin over the threshold is worth in the reader's logits
# when neither says "answers" alone: 0.004 of cosine is one logit. Measured with the floor of
# the reader's card (-3) against the two rules apart (a floor at -6 that declines, the cosine
# rule in between): at the same share of unanswerable questions declined, 2.5 points more
# answerable ones answered (docs/reader.md).
READER_COSINE_WEIGHT = 250.0
# Across languages the reader's line also counts the top hit's lead over the best passage of
# any other article, as the cosine's margin counts (READER_COSINE_WEIGHT a unit of cosine):
# (cap, pivot) adds 250 x (min(lead, cap) - pivot). Russian questions that English Wikipedia
# answers lead by 0.032 (median), Russian questions English news cannot answer by 0.004; with
# the lead, the line tells them apart better (AUC 0.914 -> 0.933, and 0.965 -> 0.974 for the
# region's questions about English news), and at the same share declined, 4.8 points more of
# them are answered (docs/reader.md, "The lead across languages"). Hits of one article have
# no lead, and the line is as without it.
CROSS_READER_LEAD = {"multilingual-e5-small": (0.05, 0.01)}


@dataclass(frozen=True)
class Rule:
    """The numbers the decision uses, from the settings and the model (`rule_for`)."""

    threshold: float
    coverage_weight: float = 0.0
    cross_offset: float = 0.0
    # The question's language -> how much less `cross_offset` lowers the threshold for it
    cross_shift: Mapping[str, float] = field(default_factory=dict)
    lead: tuple[float, float] | None = None
    reader_threshold: float | None = None  # None: the reader is off
    # In one language: under this, the reader's score plus READER_COSINE_WEIGHT x the cosine's
    # margin says "found nothing" (None: the cosine rule decides)
    reader_floor: float | None = None
    # The same line across languages (None: the cosine rule decides there)
    reader_cross_floor: float | None = None
    # Across languages, the score from which the reader answers outright: the threshold of the
    # reader that reads such pairs (`reader.routing`); None: `reader_threshold`
    reader_cross_threshold: float | None = None
    # Another read passage is shown first when it beats the first on the line by this much
    reader_switch: float = 0.0
    # Across languages, the top hit's lead over other articles on the reader's line: (cap,
    # pivot), `CROSS_READER_LEAD`; None: not counted
    reader_lead: tuple[float, float] | None = None
    # With the reader on, a passage holding no answer of the kind the question asks for (a
    # year, a percentage, a count) does not answer it, and the next one read decides
    # (`kinds.may_answer`, `passed_over`)
    kind_check: bool = False


def default_threshold(model: str) -> float:
    known = {name.lower(): value for name, value in DEFAULT_THRESHOLDS.items()}
    return known.get(model.lower(), FALLBACK_THRESHOLD)


def rule_for(
    settings: Settings,
    reader_threshold: float | None = None,
    reader_floor: float | None = None,
    reader_cross_floor: float | None = None,
    reader_cross_threshold: float | None = None,
) -> Rule:
    """The rule for these settings; a threshold of one's own turns the model's refinements
    (word bonus aside) off, since they were measured against the model's own threshold."""
    model = settings.model.lower()
    own = settings.score_threshold
    return Rule(
        threshold=own if own is not None else default_threshold(model),
        coverage_weight=COVERAGE_WEIGHT.get(model, 0.0),
        cross_offset=CROSS_LANGUAGE_OFFSET.get(model, 0.0),
        cross_shift=CROSS_LANGUAGE_SHIFT.get(model, {}),
        lead=None if own is not None else CROSS_LANGUAGE_LEAD.get(model),
        reader_threshold=reader_threshold,
        reader_floor=reader_floor,
        reader_cross_floor=reader_cross_floor,
        reader_cross_threshold=reader_cross_threshold,
        reader_switch=settings.reader_switch,
        reader_lead=None if own is not None else CROSS_READER_LEAD.get(model),
        kind_check=settings.reader_kind_check == "on",
    )


def across_languages(question: str, hit: Hit) -> bool:
    """Whether the question and the hit's passage are in different languages."""
    return lexical.languages_differ(question, hit.passage, hit.lang)


def stands_out(question: str, hits: Sequence[Hit], rule: tuple[float, float] | None) -> bool:
    """Across languages, whether the top hit leads the best passage of the other articles by
    enough: cosine + weight x lead >= threshold, for `rule` = (weight, threshold). Always true
    in one language, without a rule, or when the hits are all from one article."""
    top = hits[0]
    if rule is None or not across_languages(question, top):
        return True
    ahead = lead(hits)
    if ahead is None:
        return True
    weight, threshold = rule
    return top.score + weight * ahead >= threshold


def lead(hits: Sequence[Hit]) -> float | None:
    """How far the top hit's cosine leads the best passage of any other article among `hits`;
    None when they are all from one article (nothing to lead)."""
    top = hits[0]
    others = [h.score for h in hits if h.article_id != top.article_id]
    return top.score - max(others) if others else None


def threshold_for(question: str, hit: Hit, rule: Rule) -> float:
    """The cosine threshold, lowered when the question and the passage differ in language (by
    less for a question in a language whose cosines run higher: `CROSS_LANGUAGE_SHIFT`)."""
    if not across_languages(question, hit):
        return rule.threshold
    shift = rule.cross_shift.get(lexical.guess_language(question), 0.0)
    return rule.threshold - rule.cross_offset + shift


def confidence(question: str, hit: Hit, rule: Rule) -> float:
    """The hit's cosine, plus a small bonus for the question's words it contains."""
    if not rule.coverage_weight:
        return hit.score
    return hit.score + rule.coverage_weight * lexical.coverage(
        question, titled(hit.title, hit.passage)
    )


def passes_cosine(question: str, hit: Hit, rule: Rule) -> bool:
    return confidence(question, hit, rule) >= threshold_for(question, hit, rule)


def decide(question: str, hits: list[Hit], rule: Rule) -> Answer:
    """Answer or decline, and the hits a reader pages through (see the module's docstring).
    With the reader on, the first hit's reading decides (or the next read one's, where the first
    is passed over: `passed_over`); the passage shown first is then
    `shown_first`, followed by the other passages the reader found an answer in (best first)
    and those the cosine rule lets through."""
    if not hits:
        return Answer(question, hits, False, [])
    top = hits[0]
    if rule.reader_threshold is not None and top.reader_score is not None:
        if passed_over(question, top, rule):
            return _passing_over(question, hits, rule)
        verdict = reader_verdict(question, top, rule, lead(hits))
        if verdict is not None:
            return Answer(question, hits, verdict, _shown(question, hits, rule) if verdict else [])
    shown = [h for h in hits if passes_cosine(question, h, rule)]
    found = bool(shown) and shown[0] is hits[0] and stands_out(question, hits, rule.lead)
    return Answer(question, hits, found, shown if found else [])


def shown_first(hits: Sequence[Hit], rule: Rule) -> Hit:
    """The passage shown first when Khabar answers: among the passages the reader read, the
    one whose score plus READER_COSINE_WEIGHT x (its cosine minus the first's) beats the first
    passage's score by `rule.reader_switch` logits (the best such), else the first hit."""
    first = hits[0]
    if first.reader_score is None:
        return first

    def line(hit: Hit) -> float:
        assert hit.reader_score is not None
        return hit.reader_score + READER_COSINE_WEIGHT * (hit.score - first.score)

    best = max((h for h in hits if h.reader_score is not None), key=line)
    return best if line(best) >= line(first) + rule.reader_switch else first


def reads_on(
    question: str, first: Hit, rule: Rule, confident: float | None, ahead: float | None
) -> bool:
    """Whether reading the passages after `first` (read) may change what is shown: when `first`
    is passed over (`passed_over`: the next passage decides), or when the reader's rule
    answers on it (a declined question shows nothing, and without a reader's verdict the
    cosine rule shows the first), and not by `confident` over the threshold. `ahead`: the
    hits' `lead`, as `decide` counts it."""
    if first.reader_score is None or rule.reader_threshold is None:
        return False
    if passed_over(question, first, rule):
        return True
    if sure(first, rule, confident):
        return False
    return reader_verdict(question, first, rule, ahead) is True


def passed_over(question: str, hit: Hit, rule: Rule) -> bool:
    """Whether `hit` holds nothing of the kind the question's words ask for (no year for "in
    what year", no count for "how many": `kinds.may_answer`), with `rule.kind_check` on: then
    it cannot answer, however sure the reader is, and `decide` passes it over."""
    return rule.kind_check and not kinds.may_answer(question, hit.passage, hit.lang)


def sure(first: Hit, rule: Rule, confident: float | None) -> bool:
    """Whether the reader scores `first` (read) `confident` or more over its threshold: then
    no other passage is read for the question, neither the next ones (`reads_on`) nor a
    follow-up's carried search (`Retriever.answer_many`). The first reader's threshold, for
    every pair: counted from the second reader's across languages (`reader_verdict`'s), it
    read on more and lost one answer of news-region-x2en's 95, p50 94 -> 111 ms (docs/reader.md,
    thirteenth stop)."""
    if confident is None or first.reader_score is None or rule.reader_threshold is None:
        return False
    return first.reader_score >= rule.reader_threshold + confident


def reader_verdict(question: str, top: Hit, rule: Rule, ahead: float | None) -> bool | None:
    """Whether the first hit answers by the reader's rule: its score at the threshold (across
    languages, `reader_cross_threshold` where set), else
    its line against the floor (for its pair of languages; across them, with its lead
    `ahead` over other articles, `lead(hits)`, counted by `rule.reader_lead`); None where no
    floor applies (the cosine rule decides). `ahead` has no default: a verdict without the
    hits' lead would not be `decide`'s."""
    assert rule.reader_threshold is not None and top.reader_score is not None
    if top.contrast is not None:
        return False  # its answer is another country's (`reader.contrast`)
    across = across_languages(question, top)
    threshold = rule.reader_threshold
    if across and rule.reader_cross_threshold is not None:
        threshold = rule.reader_cross_threshold
    if top.reader_score >= threshold:
        return True
    floor = rule.reader_cross_floor if across else rule.reader_floor
    if floor is None:
        return None
    margin = confidence(question, top, rule) - threshold_for(question, top, rule)
    if across and ahead is not None and rule.reader_lead is not None:
        cap, pivot = rule.reader_lead
        margin += min(ahead, cap) - pivot
    return top.reader_score + READER_COSINE_WEIGHT * margin >= floor


def _passing_over(question: str, hits: list[Hit], rule: Rule) -> Answer:
    """`decide` when the first hit is passed over: on the hits from the next one read that may
    answer, as if search had found it first; "found nothing" when no passage read may."""
    for i, hit in enumerate(hits[1:], start=1):
        if hit.reader_score is not None and not passed_over(question, hit, rule):
            found = decide(question, hits[i:], rule)
            return Answer(question, hits, found.found, found.shown)
    return Answer(question, hits, False, [])


def _shown(question: str, hits: list[Hit], rule: Rule) -> list[Hit]:
    first = shown_first(hits, rule)
    # Answering by the first reader's threshold, for every pair: by the second reader's across
    # languages, xquad-ru2en's answer@3 fell 55.6 -> 55.5 and nothing rose (docs/reader.md).
    assert rule.reader_threshold is not None
    answering = sorted(
        (h for h in hits if h is not first and _answers(h, rule.reader_threshold)),
        key=lambda h: -(h.reader_score or 0.0),
    )
    rest = [
        h
        for h in hits
        if h is not first and h not in answering and passes_cosine(question, h, rule)
    ]
    return [first, *answering, *rest]


def _answers(hit: Hit, threshold: float) -> bool:
    return hit.reader_score is not None and hit.reader_score >= threshold
