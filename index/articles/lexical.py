"""Lexical search: BM25 over stemmed words, in SQLite FTS5 beside the passages.

Words are lower-cased and stemmed by script and language: Snowball's English, Russian and
Turkish stemmers (Turkish also for Azerbaijani and Uzbek, its close relatives), and for Kazakh,
which Snowball lacks, the first five letters — a crude stem that copes with agglutinative
endings. In Uzbek, the ʻ of oʻ and gʻ (and the tutuq belgisi ʼ), however typed, is dropped
within a word, so that "tugʻilgan", "tug‘ilgan" and "tug'ilgan" are one word, not "tug" and
"ilgan". The language is the article's `lang` when given, else guessed from its letters.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import Stemmer

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_KAZAKH = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
_AZERBAIJANI = re.compile(r"[əƏ]")
_TURKISH = re.compile(r"[ğışİĞŞ]")
_TURKISH_VOWELS = re.compile(r"[üöçÜÖÇ]")  # Turkish, but also in names of other languages
_TURKISH_WORDS = frozenset("ne kaç hangi kim nerede zaman mı mi mu mü ve bir için ile".split())
# Uzbek (Latin) has no letter of its own: it is told by its words, its oʻ and gʻ, and a q
# not followed by u in a word that is not a name ("qachon", "qaysi"; not "Iraq", "Qatar").
_UZBEK_WORDS = frozenset(
    """va bilan uchun necha nechta qaysi qachon qancha nima kim qayerda edi yil yili yilda
    yilgi haqida kerak emas ham qilgan boʻlgan bo'lgan boʻldi bo'ldi yosh yoshda kishi etgan
    berdi bor soni foiz foizga davlat""".split()
)
# How Uzbek's ʻ (oʻ, gʻ) is typed: the modifier letter, or an apostrophe or quote in its place.
UZBEK_TURNED_COMMAS = "ʻʼ‘’'`"
_UZBEK_OG = re.compile(rf"[og][{UZBEK_TURNED_COMMAS}]\w")
_LATIN_WORD = re.compile(rf"[\w{UZBEK_TURNED_COMMAS}]+")
_UZBEK_MARK_WITHIN = re.compile(rf"(?<=\w)[{UZBEK_TURNED_COMMAS}](?=\w)")
# How words become stems (`terms`); an index records it (`Manifest.stems_version`), and one
# built with another is rebuilt in full. 2: Uzbek by Turkish's stemmer, its ʻ dropped within
# words (issue 29, eleventh stop; 1: English's stemmer, words split at ʻ typed as ' or ‘).
STEMS_VERSION = 2
MAX_QUERY_TERMS = 32
COMMON_FRACTION = 0.25
MIN_TERMS = 3
MAX_REMEMBERED = 200_000  # stems remembered per stemmer (a few tens of MB at most)
_STEMS: dict[str, dict[str, str]] = {}
_LOCAL = threading.local()
_STOP = frozenset(
    """a an the of in on at to for from by with and or but is are was were be been being do does
    did what which who whom whose when where why how that this these those it its as into than
    then there their they he she his her him we our you your i me my not no has have had will
    would can could should may might about also
    и в во на не что как кто где когда почему какой какая какие каком это был была были быть
    с со по за из к от до для о об а но или ли же то его ее её их он она они мы вы я
    ve ile bir bu şu o da de mi mı mu mü ne için gibi daha en çok kim nerede nasıl hangi
    və ilə nə üçün kimi ən harada necə hansı
    және мен бұл ол үшін қалай қай кім қайда қашан""".split()
)


LANGUAGES = ("en", "ru", "kk", "tr", "az", "uz")


def guess_language(text: str, declared: str | None = None) -> str:
    """en, ru, kk, tr, az or uz: the declared language when it is one of them, else by letters
    and, for Turkish without its own letters and for Uzbek, by words."""
    if declared and declared.lower()[:2] in LANGUAGES:
        return declared.lower()[:2]
    sample = text[:5000]
    if _CYRILLIC.search(sample):
        return "kk" if _KAZAKH.search(sample) else "ru"
    if _AZERBAIJANI.search(sample):
        return "az"
    if _TURKISH.search(sample):
        return "tr"
    words = _LATIN_WORD.findall(sample)
    marks = len(_TURKISH_VOWELS.findall(sample))
    if marks >= 2 or (marks and any(w.lower() in _TURKISH_WORDS for w in words)):
        return "tr"
    if _uzbek_marks(words) >= 2:
        return "uz"
    return "en"


def languages_differ(question: str, passage: str, declared: str | None = None) -> bool:
    """Whether a question and a passage (in `declared`, where known) are in different languages
    (`guess_language`): the decision's rules and the reader's sentence match both ask."""
    return guess_language(question) != guess_language(passage, declared)


def _uzbek_marks(words: list[str]) -> int:
    count = 0
    for i, word in enumerate(words):
        lower = word.lower()
        not_a_name = i == 0 or word[:1].islower()
        count += lower in _UZBEK_WORDS and not_a_name
        count += _UZBEK_OG.search(lower) is not None
        count += "q" in lower.replace("qu", "") and not_a_name
    return count


def _stemmer(name: str) -> Stemmer._Stemmer:
    """This thread's stemmer: PyStemmer's are not to be shared between threads."""
    stemmers: dict[str, Stemmer._Stemmer] = _LOCAL.__dict__.setdefault("stemmers", {})
    if name not in stemmers:
        stemmers[name] = Stemmer.Stemmer(name)
    return stemmers[name]


def _stem_words(name: str, words: list[str]) -> list[str]:
    """Snowball's stems of `words`, remembered per word: news repeats its words, and the
    stemmer is most of the cost of `terms` (about 1 µs a word)."""
    cache = _STEMS.setdefault(name, {})
    if len(cache) > MAX_REMEMBERED:
        cache = _STEMS[name] = {}  # a new dict: a thread still reading the old one keeps it
    missing = [w for w in dict.fromkeys(words) if w not in cache]
    if missing:
        cache.update(zip(missing, _stemmer(name).stemWords(missing), strict=True))
    return [cache[w] for w in words]


def terms(text: str, lang: str) -> list[str]:
    """The stemmed words of `text`, in order, stop words dropped."""
    latin = "turkish" if lang in ("tr", "az", "uz") else "english"
    if lang == "uz":
        text = _UZBEK_MARK_WITHIN.sub("", text)
    words = [
        w
        for w in _WORD.findall(text.lower())
        if w not in _STOP and not (w.isdigit() and len(w) < 2)
    ]
    if not _CYRILLIC.search(text):
        return _stem_words(latin, words)
    cyrillic = [not w.isascii() and _CYRILLIC.search(w) is not None for w in words]
    others = iter(_stem_words(latin, [w for w, c in zip(words, cyrillic, strict=True) if not c]))
    if lang == "kk":
        return [w[:5] if c else next(others) for w, c in zip(words, cyrillic, strict=True)]
    russian = iter(_stem_words("russian", [w for w, c in zip(words, cyrillic, strict=True) if c]))
    return [next(russian) if c else next(others) for c in cyrillic]


def coverage(question: str, passage: str) -> float:
    """The share of the question's stems that occur in the passage (0–1)."""
    lang = guess_language(question)
    asked = set(terms(question, lang))
    if not asked:
        return 0.0
    return len(asked & set(terms(passage, lang))) / len(asked)


def document(text: str, lang: str) -> str:
    """What FTS5 indexes for a passage: its stems separated by spaces."""
    return " ".join(terms(text, lang))


def query_terms(question: str, also: Sequence[str] = ()) -> list[str]:
    """The question's distinct stems, in order (at most MAX_QUERY_TERMS), then those of `also`
    (its words in other languages: `index.lexicon`) that are not among them."""
    own = list(dict.fromkeys(terms(question, guess_language(question))))[:MAX_QUERY_TERMS]
    return with_also(own, also)


def with_also(own: list[str], also: Sequence[str]) -> list[str]:
    """`own` (a question's stems), then those of `also` that are not among them, once each."""
    mine = set(own)
    return own + [s for s in dict.fromkeys(also) if s not in mine]


def as_match(stems: list[str]) -> str | None:
    """An FTS5 MATCH expression: any of these stems (None when there are none)."""
    quoted = ['"' + s.replace('"', "") + '"' for s in stems if s.replace('"', "")]
    return " OR ".join(quoted) if quoted else None


def match_query(question: str) -> str | None:
    """An FTS5 MATCH expression: any of the question's stems (None when it has none)."""
    return as_match(query_terms(question))


def selective(stems: list[str], frequency: dict[str, int], passages: int) -> list[str]:
    """The stems worth searching for: those in at most COMMON_FRACTION of the passages (a stem
    in half the corpus adds almost nothing to BM25 but makes it score half the corpus), and
    always the MIN_TERMS rarest that occur at all."""
    present = [s for s in stems if frequency.get(s, 0) > 0]
    kept = [s for s in present if frequency[s] <= COMMON_FRACTION * passages]
    if len(kept) < MIN_TERMS:
        rarest = sorted(present, key=lambda s: frequency[s])[:MIN_TERMS]
        kept = [s for s in present if s in rarest]
    return kept
