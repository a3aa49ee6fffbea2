"""What kind of answer a question asks for, and where a passage holds answers of that kind:
pure. "In what year", "how many", "by what percentage" — in English, Russian, Azerbaijani,
Kazakh, Turkish and Uzbek — ask for a year, a number or a percentage. The reader, which
sometimes confuses what is asked ("100,000 people" for "by what percentage"), then chooses
its span among those that hold one (`runtime.OnnxReader`); whether Khabar answers at all is
not decided here.

A question's kind comes from its own words; a passage's answers of that kind from its digits
and number words, in the passage's language (English "on" is not Turkish "on", ten)."""

from __future__ import annotations

import enum
import re
from functools import cache, lru_cache

from ..articles.lexical import guess_language


class Kind(enum.Enum):
    YEAR = "year"
    PERCENT = "percent"
    NUMBER = "number"


# The question's words, by kind, in every language a question may come in; checked in this
# order (a question "by what percentage" is a percentage one, "kaç yılında" a year one).
_ASKS = (
    (
        Kind.PERCENT,
        r"\bpercent|\bper cent\b|\bpercentage|%|процент|\bfaiz|пайыз|\byüzde|\bfoiz",
    ),
    (
        Kind.YEAR,
        r"\b(?:what|which) year\b|\bкак(?:ом|ой|ого|ому|ие) год|\bкотор(?:ом|ого|ому) год|"
        r"\bhansı il|\bneçənci il|\bқай жыл|\bнешінші жыл|\bhangi yıl|\bkaç yılında\b|"
        r"\bqaysi yil|\bnechanchi yil",
    ),
    (
        Kind.NUMBER,
        r"\bhow many\b|\bhow old\b|\bсколько\b|\bскольки(?:х|м)?\b|\bneçə\b|\bқанша\b|"
        r"\bнеше\b|\bkaç\b|\bnecha\b|\bnechta\b",
    ),
)
_ASKED = tuple((kind, re.compile(words, re.IGNORECASE)) for kind, words in _ASKS)

_YEAR = r"(?<![\d.,])(?:1[0-9]{3}|20[0-9]{2})(?![\d.,]\d|\d)"
_DIGITS = r"(?:\d{1,3}(?:[ \u00a0\u202f,.]\d{3})+(?!\d)|\d+(?:[.,]\d+)?)"
_PER = r"%|\bper ?cent\b|\bpercent|процент\w*|\bfaiz\w*|пайыз\w*|\bfoiz\w*"
_PERCENT = rf"{_DIGITS}(?:\s*-\s*|\s*)(?:{_PER})|%\s?\d[\d.,]*|\byüzde\s+\d[\d.,]*"

# Number words that may answer "how many" where the passage has no digits for it, by the
# passage's language.
_NUMBER_WORDS = {
    "en": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred hundreds thousand thousands million millions billion billions "
    "dozen dozens",
    "ru": "один одна одно одного одной одному одним два две двух двум двумя три трёх трех "
    "трём трем тремя четыре четырёх четырех четырьмя пять пяти пятью шесть шести шестью семь "
    "семи восемь восьми девять девяти десять десяти десятью одиннадцать двенадцать двадцать "
    "двадцати тридцать тридцати сорок сорока пятьдесят пятидесяти сто ста сотни сотен тысяча "
    "тысячи тысяч тысячу тысячами миллион миллиона миллионов миллионами миллиард миллиарда "
    "миллиардов десятки десятков одном",
    "az": "bir iki üç dörd beş altı yeddi səkkiz doqquz on iyirmi otuz qırx əlli yüz min "
    "milyon milyard",
    "kk": "бір екі үш төрт бес алты жеті сегіз тоғыз он жиырма отыз қырық елу жүз мың "
    "миллион миллиард",
    "tr": "bir iki üç dört beş altı yedi sekiz dokuz on yirmi otuz kırk elli yüz bin milyon milyar",
    "uz": "bir ikki uch to'rt besh olti yetti sakkiz to'qqiz o'n yigirma o'ttiz qirq ellik "
    "yuz ming million milliard",
}


def expected(question: str) -> Kind | None:
    """The kind of answer the question asks for; None when its words do not say."""
    for kind, asked in _ASKED:
        if asked.search(question):
            return kind
    return None


@cache
def _pattern(kind: Kind, lang: str) -> re.Pattern[str]:
    if kind is Kind.YEAR:
        return re.compile(_YEAR)
    if kind is Kind.PERCENT:
        return re.compile(_PERCENT, re.IGNORECASE)
    listed = _NUMBER_WORDS.get(lang, "").split()
    if not listed:
        return re.compile(_DIGITS, re.IGNORECASE)
    words = "|".join(re.escape(w) for w in listed)
    # The lookahead turns away at once a position no digit or number word starts at: the same
    # matches, 2.5-10 times faster (the excerpt runs this on every passage shown).
    first = "".join(sorted({re.escape(w[0]) for w in listed}))
    return re.compile(rf"(?=[\d{first}])(?:{_DIGITS}|\b(?:{words})\b)", re.IGNORECASE)


def answers(kind: Kind, passage: str, lang: str | None = None) -> list[tuple[int, int]]:
    """The character spans of `passage` that hold an answer of that kind (a year; a number
    with its per cent sign or word; digits or a number word of the passage's language)."""
    return list(_answers(kind, passage, lang))


# A passage is looked at more than once for one question: its excerpt when search shows it,
# the reader's span, then its excerpt again once read. The last few are kept.
@lru_cache(maxsize=64)
def _answers(kind: Kind, passage: str, lang: str | None) -> tuple[tuple[int, int], ...]:
    pattern = _pattern(kind, lang or guess_language(passage))
    return tuple(m.span() for m in pattern.finditer(passage))


# What follows digits that make an ordinal, not a count: "12th", "12-й", "12-ci", "12'nci",
# "12-ші", "12-chi" ("the 12th Summit" does not say how many summits there were).
_ORDINAL_AFTER = re.compile(
    r"(?:st|nd|rd|th)\b"
    r"|-(?:й|я|е|го|му|м|ый|ий|ая|ое|ой|ого|ому|ом)\b"
    r"|['’-]?(?:n?c[iıuü]|[iıuü]nc[iıuü])\b"
    r"|-(?:ші|шы|інші|ыншы)\b"
    r"|-n?chi\b",
    re.IGNORECASE,
)
_YEAR_ALONE = re.compile(r"(?:1[0-9]{3}|20[0-9]{2})")
_PER_WORD = re.compile(_PER, re.IGNORECASE)
# Quantities without a number, which may still answer "how many" ("many times", "several
# years", "none of them"), in the six languages.
_VAGUE = re.compile(
    r"\b(?:several|many|few|none|dozens|несколько|нескольких|много|многих|немного|"
    r"bir neçə|çoxlu|бірнеше|көптеген|birkaç|birçok|bir necha|ko['ʻ‘’]?plab)\b",
    re.IGNORECASE,
)
# A day of the month beside its month's name ("October 18", "18 октября", "18 Ekim"), in the six
# languages: a date, not a count.
_MONTHS = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
    r"|январ\w*|феврал\w*|март\w*|апрел\w*|ма[йяе]|июн\w*|июл\w*|август\w*|сентябр\w*"
    r"|октябр\w*|ноябр\w*|декабр\w*"
    r"|yanvar\w*|fevral\w*|mart(?!a\b)\w*|aprel\w*|iyun\w*|iyul\w*|avqust\w*|avgust\w*"
    r"|sent(?:y?a)br\w*|okt(?:y?a)br\w*|noyabr\w*|dekabr\w*"
    r"|ocak\w*|şubat\w*|nisan\w*|mayıs\w*|haziran\w*|temmuz\w*|ağustos\w*|eylül\w*|ekim\w*"
    r"|kasım\w*|aralık\w*"
    r"|қаңтар\w*|ақпан\w*|наурыз\w*|сәуір\w*|мамыр\w*|маусым\w*|шілде\w*|тамыз\w*"
    r"|қыркүйек\w*|қазан\w*|қараша\w*|желтоқсан\w*)"
)
_MONTH_BEFORE = re.compile(rf"\b{_MONTHS}\.?\s+$", re.IGNORECASE)
_MONTH_AFTER = re.compile(rf"(?:-?\w{{0,3}})?[\s-]+{_MONTHS}\b", re.IGNORECASE)


# Words that ask for a percentage, not only name one ("which university reported a very high
# percentage of cases?" asks for a university): the check below asks for these.
_ASKS_PERCENT = re.compile(
    r"\b(?:what|which|how much|how many)\b[^?.]{0,20}\bper ?cent|"
    r"\b(?:сколько|как\w*)\s+(?:\w+\s+){0,2}процент|"
    r"\bneçə\s+faiz|\bfaiz\w*\s+nə|(?:неше|қанша)\s+пайыз|пайыз\w*\s+(?:неше|қанша)|"
    r"\byüzde\s*kaç|\bkaç\s+yüzde|\byüzde\w*\s+(?:ne|kaç)\b|"
    r"\b(?:necha|qancha)\s+foiz|\bfoiz\w*\s+(?:necha|qancha)",
    re.IGNORECASE,
)


def may_answer(question: str, passage: str, lang: str | None = None) -> bool:
    """Whether `passage` holds anything that may answer `question` as its words ask: a year for
    "in what year", a percentage for "by what percentage", and for "how many" a number that is
    not a year, an ordinal or a day of a month ("in 2009", "the 12th Summit", "October 18" say
    how many of nothing), or a quantity in words ("several", "many"). True for a question
    whose words ask for no kind, or that holds an answer of its kind itself. `lang`: the
    passage's language (its number words), guessed when None."""
    kind = expected(question)
    if kind is None:
        return True
    if _holds(kind, question, None):
        return True  # "which billionaire bought 9.2% of Twitter?" asks for no percentage
    if kind is Kind.PERCENT:
        if not _ASKS_PERCENT.search(question):
            return True
        # "six to nine percent" too
        return _holds(kind, passage, lang) or _PER_WORD.search(passage) is not None
    return _holds(kind, passage, lang) or (
        kind is Kind.NUMBER and _VAGUE.search(passage) is not None
    )


def _holds(kind: Kind, text: str, lang: str | None) -> bool:
    found = _answers(kind, text, lang)
    if kind is not Kind.NUMBER:
        return bool(found)
    return any(_counts(text, start, end) for start, end in found)


def _counts(passage: str, start: int, end: int) -> bool:
    text = passage[start:end]
    if _YEAR_ALONE.fullmatch(text):
        return False
    if not text[-1].isdigit():
        return True  # a number word
    if _ORDINAL_AFTER.match(passage, end):
        return False
    day = len(text) <= 2 and (
        _MONTH_BEFORE.search(passage, max(0, start - 16), start) is not None
        or _MONTH_AFTER.match(passage, end) is not None
    )
    return not day
