"""Cross-language and entity-swapped training rows, from `../shared/train/cross` and
`../shared/train/parallel` (SOURCE.md there), as `Row`s the example builder turns into inputs.

- **Number questions across the region's languages** (NTREX): a news sentence that states a
  number in every language becomes a question in one language by putting a question word in
  the number's place ("2004 жылғы цунами 14 елге соқты" -> "2004 жылғы цунами қанша елге
  соқты?"); its passage is the paragraph (three sentences, as Khabar's articles are cut)
  holding that sentence in another language, or in its own, and the answer is the number
  there. Every pairing of en, ru, az, kk, tr and uz occurs.
- **Translations** (NTREX, Tatoeba): a sentence as the query, the paragraph that holds its
  translation as the passage, the translation as the span.
- **AfriQA**: human questions in nine languages about English passages, and their English
  translations about the same passages.
- **Swaps** (`swaps.py`): any of the above, or a `spans.jsonl` question, with a country, a
  number or a name the passage holds replaced by one it does not: "no answer".
- **Other paragraphs**: a number question against another paragraph of the same document:
  "no answer", the same topic without the number.
- **Sentences of the same kind** (`distract`, off unless asked for): a number question against
  a passage of its sentence among sentences stating a number of the same kind (years beside a
  year, counts beside a count; of its own document or others, those nearest the question by
  BM25), the answer the number in its sentence; and against those other sentences alone: "no
  answer". What "when was it founded?" meets in a passage that says when something else was
  held, in another language.
- **Near passages across languages** (`near`, off unless asked for): a number or AfriQA
  question against the passage of *another* document or title that BM25 ranks highest for it
  (in the question's own language, then taken in the passage's), or against a random English
  news paragraph: "no answer". What Khabar meets when a question in one language finds an
  English article that does not answer it.

Documents and titles are held back by hash (`examples.held_back`), as for `spans.jsonl`.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import KhabarError
from . import swaps
from .examples import Bm25, Row, held_back, holds

LANGS = swaps.LANGS
SENTENCES_A_PARAGRAPH = 3

# The question word that takes a number's place, by language: a year, a count, a percentage.
_YEAR = {
    "en": "what year",
    "ru": "каком",
    "az": "hansı",
    "kk": "қай",
    "tr": "hangi",
    "uz": "qaysi",
}
_COUNT = {
    "en": "how many",
    "ru": "сколько",
    "az": "neçə",
    "kk": "қанша",
    "tr": "kaç",
    "uz": "nechta",
}
_PERCENT = {
    "en": "what percentage",
    "ru": "сколько процентов",
    "az": "neçə faiz",
    "kk": "қанша пайыз",
    "tr": "yüzde kaç",
    "uz": "necha foiz",
}
# A number with what clings to it: Turkish "%14", "2004'te", Azerbaijani "2004-cü".
_NUMBER = re.compile(r"(%\s?)?(?<![\d.,])(\d+(?:[.,]\d+)*)(?!\d)(\s?%|['ʼ’-][^\W\d_]+)?")


@dataclass(frozen=True)
class CrossRow:
    """A question and a passage, each in its own language; `answers` as in `Row` (empty: no
    answer). `kind` says what made it (for the validation curve)."""

    id: str
    kind: str
    q_lang: str
    p_lang: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]
    group: str  # the document or title, for holding back


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise KhabarError(f"{path} is missing: cross-language training reads ../shared/train")
    out = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as exc:
                    raise KhabarError(f"{path} line {number} is not JSON ({exc})") from None
    return out


def ntrex_documents(path: Path) -> dict[str, list[dict[str, str]]]:
    """NTREX's sentences grouped by document, in order."""
    docs: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in _read_jsonl(path):
        docs[str(r["doc"])].append({k: str(v) for k, v in r.items()})
    for lines in docs.values():
        lines.sort(key=lambda r: int(r["line"]))
    return dict(docs)


def paragraphs(lines: Sequence[dict[str, str]], lang: str) -> list[tuple[str, list[int]]]:
    """The document's body (the headline left out) as paragraphs of three sentences: the
    text, and where each sentence starts in it."""
    out = []
    body = list(lines[1:])
    for begin in range(0, len(body), SENTENCES_A_PARAGRAPH):
        text, starts = "", []
        for r in body[begin : begin + SENTENCES_A_PARAGRAPH]:
            if text:
                text += " "
            starts.append(len(text))
            text += r[lang]
        out.append((text, starts))
    return out


def number_question(sentence: str, value: str, lang: str) -> str | None:
    """`sentence` with `value` (met once) put as a question in `lang`, or None."""
    found = [m for m in _NUMBER.finditer(sentence) if m.group(2) == value]
    if len(found) != 1:
        return None
    m = found[0]
    word = {"percent": _PERCENT, "year": _YEAR, "count": _COUNT}[_kind(m)][lang]
    tail = m.group(3) or ""
    keep_tail = "" if tail.strip() == "%" or tail[:1] in "'ʼ’-" else tail
    text = sentence[: m.start()] + word + keep_tail + sentence[m.end() :]
    text = text.strip().rstrip(".!;:")
    return text[:1].upper() + text[1:] + "?"


def _kind(m: re.Match[str]) -> str:
    """What a number `_NUMBER` matched states: a percentage, a year or a count."""
    digits = m.group(2).replace(",", "").replace(".", "")
    if m.group(1) or (m.group(3) or "").strip() == "%":
        return "percent"
    if len(digits) == 4 and 1800 <= int(digits) <= 2100:
        return "year"
    return "count"


class _SameKind:
    """NTREX's sentences that state a number of one kind in English, by kind and by whether
    their document is held back: the company a number question's sentence keeps in a
    `distract` passage, the ones nearest the question (BM25 in its language) first."""

    def __init__(self, docs: dict[str, list[dict[str, str]]]) -> None:
        self.pool: dict[tuple[str, bool], list[dict[str, str]]] = defaultdict(list)
        for doc, lines in sorted(docs.items()):
            for line in lines[1:]:
                for kind in sorted({_kind(m) for m in _NUMBER.finditer(line["en"])}):
                    self.pool[(kind, held_back(doc))].append(line)
        self.bm25: dict[tuple[str, bool, str], Bm25] = {}

    def company(
        self,
        kind: str,
        line: dict[str, str],
        value: str,
        question: str,
        q_lang: str,
        p_lang: str,
        rng: random.Random,
        count: int,
    ) -> list[str]:
        """`count` sentences in `p_lang` stating a `kind` without `value`, other than `line`:
        at random among the eight nearest the question (BM25 over the sentences in `q_lang`),
        or any where fewer share a word with it."""
        key = (kind, held_back(line["doc"]))
        pool = self.pool.get(key, [])
        bm25 = self.bm25.get((*key, q_lang))
        if bm25 is None:
            bm25 = self.bm25[(*key, q_lang)] = Bm25([r[q_lang] for r in pool], [q_lang] * len(pool))

        def fits(r: dict[str, str]) -> bool:
            return r is not line and value not in r[p_lang]

        near = [pool[i][p_lang] for i in bm25.top(question, q_lang, 12) if fits(pool[i])]
        near = list(dict.fromkeys(near))[:8]
        if len(near) < count:  # too few share a word with the question: any of the kind
            picked = rng.sample(pool, min(len(pool), count * 4))
            near += [r[p_lang] for r in picked if fits(r) and r[p_lang] not in near]
        return rng.sample(near[:8], min(count, len(near)))


def number_rows(
    docs: dict[str, list[dict[str, str]]],
    rng: random.Random,
    pairings: int = 6,
    near: float = 0.0,
    news: Sequence[str] = (),
    distract: float = 0.0,
) -> Iterator[CrossRow]:
    """Number questions in one language about a paragraph in another (or the same), and the
    same question against another paragraph of the document (no answer), and swapped; with
    `near`, that share also against another document's nearest paragraph (`_NearParagraphs`),
    and half that share against a random news paragraph; with `distract`, that share also
    among sentences of the same kind (`_distracted`)."""
    nearest = _NearParagraphs(docs) if near > 0 else None
    same_kind = _SameKind(docs) if distract > 0 else None
    for doc, lines in sorted(docs.items()):
        paras = {lang: paragraphs(lines, lang) for lang in LANGS}
        for p_index in range(len(paras["en"])):
            for s_index in range(len(paras["en"][p_index][1])):
                line = lines[1 + p_index * SENTENCES_A_PARAGRAPH + s_index]
                values = [
                    m.group(2)
                    for m in _NUMBER.finditer(line["en"])
                    if all(_once(line[lang], m.group(2)) for lang in LANGS)
                ]
                if not values:
                    continue
                value = rng.choice(values)
                combos = [(q, p) for q in LANGS for p in LANGS]
                for q_lang, p_lang in rng.sample(combos, min(pairings, len(combos))):
                    question = number_question(line[q_lang], value, q_lang)
                    text, starts = paras[p_lang][p_index]
                    if question is None or not _once(text, value):
                        continue
                    sentence_start = starts[s_index]
                    where = _find(text, value, sentence_start)
                    if where is None:
                        continue
                    base = f"ntrex-{doc}-{line['line']}-{q_lang}-{p_lang}"
                    yield CrossRow(
                        base, "number", q_lang, p_lang, question, text, ((value, where),), doc
                    )
                    others = [t for i, (t, _) in enumerate(paras[p_lang]) if i != p_index]
                    others = [t for t in others if value not in t]
                    if others and rng.random() < 0.5:
                        yield CrossRow(
                            base + "-other",
                            "other",
                            q_lang,
                            p_lang,
                            question,
                            rng.choice(others),
                            (),
                            doc,
                        )
                    if rng.random() < 0.5:
                        changed = swaps.swapped(question, q_lang, text, p_lang, (), rng, value)
                        if changed is not None:
                            yield CrossRow(
                                base + "-swap", "swap", q_lang, p_lang, changed, text, (), doc
                            )
                    if nearest is not None and rng.random() < near:
                        found = nearest.find(question, q_lang, p_lang, doc, (value,))
                        if found is not None:
                            yield CrossRow(
                                base + "-near", "near", q_lang, p_lang, question, found, (), doc
                            )
                    if near > 0 and news and q_lang != "en" and rng.random() < near / 2:
                        yield from _news_row(base, q_lang, question, (value,), news, rng, doc)
                    if same_kind is not None and rng.random() < distract:
                        yield from _distracted(
                            base, question, q_lang, p_lang, line, value, same_kind, rng
                        )


def _distracted(
    base: str,
    question: str,
    q_lang: str,
    p_lang: str,
    line: dict[str, str],
    value: str,
    same_kind: _SameKind,
    rng: random.Random,
) -> Iterator[CrossRow]:
    """The question against its sentence `line` (in `p_lang`) among two or three sentences
    stating a number of the same kind, those nearest the question (`_SameKind.company`), the
    answer `value` there ("distract"); and against those sentences alone: "no answer"
    ("decoy")."""
    sentence, doc = line[p_lang], line["doc"]
    [m] = [m for m in _NUMBER.finditer(sentence) if m.group(2) == value]
    kind = _kind(m)
    company = same_kind.company(
        kind, line, value, question, q_lang, p_lang, rng, rng.choice((2, 3))
    )
    if len(company) < 2:
        return
    place = rng.randint(0, len(company))
    sentences = [*company[:place], sentence, *company[place:]]
    text = " ".join(sentences)
    start = len(" ".join(sentences[:place])) + (1 if place else 0)
    where = _find(text, value, start)
    if where is not None and _once(text, value):
        yield CrossRow(
            base + "-distract", "distract", q_lang, p_lang, question, text, ((value, where),), doc
        )
    yield CrossRow(base + "-decoy", "decoy", q_lang, p_lang, question, " ".join(company), (), doc)


def translation_rows(
    docs: dict[str, list[dict[str, str]]],
    tatoeba: Sequence[dict[str, object]],
    rng: random.Random,
    share: float = 0.15,
) -> Iterator[CrossRow]:
    """A sentence as the query, the paragraph holding its translation as the passage."""
    for doc, lines in sorted(docs.items()):
        paras = {lang: paragraphs(lines, lang) for lang in LANGS}
        for p_index in range(len(paras["en"])):
            for s_index in range(len(paras["en"][p_index][1])):
                if rng.random() >= share:
                    continue
                q_lang, p_lang = rng.sample(LANGS, 2)
                line = lines[1 + p_index * SENTENCES_A_PARAGRAPH + s_index]
                text, starts = paras[p_lang][p_index]
                target = line[p_lang]
                yield CrossRow(
                    f"ntrex-tr-{doc}-{line['line']}-{q_lang}-{p_lang}",
                    "translation",
                    q_lang,
                    p_lang,
                    line[q_lang],
                    text,
                    ((target, starts[s_index]),),
                    doc,
                )
    english = [str(r["en"]) for r in tatoeba]
    for n, r in enumerate(tatoeba):
        if rng.random() >= share or str(r["lang"]) not in LANGS:
            continue
        company = [e for e in rng.sample(english, 5) if e != r["en"]][:4]
        place = rng.randint(0, len(company))
        sentences = [*company[:place], str(r["en"]), *company[place:]]
        text = " ".join(sentences)
        start = len(" ".join(sentences[:place])) + (1 if place else 0)
        yield CrossRow(
            f"tatoeba-{n}",
            "translation",
            str(r["lang"]),
            "en",
            str(r["text"]),
            text,
            ((str(r["en"]), start),),
            f"tatoeba-{n}",
        )


def afriqa_rows(
    rows: Sequence[dict[str, object]],
    rng: random.Random,
    near: float = 0.0,
    news: Sequence[str] = (),
) -> Iterator[CrossRow]:
    """AfriQA's questions (nine languages) and their English translations, about English
    passages (French passages are left out: Khabar's readers do not meet them); a share
    swapped; with `near`, that share also against the English passage of another title that
    BM25 ranks highest for the English question, and half that share (the questions not in
    English) against a random news paragraph."""
    pool_en = swaps.names_of([str(r["question_en"]) for r in rows])
    english = [r for r in rows if r.get("context_lang") == "en"]
    contexts = sorted({str(r["context"]) for r in english})
    title_of = {str(r["context"]): str(r["title"]) for r in english}
    bm25 = Bm25(contexts, ["en"] * len(contexts)) if near > 0 else None
    for r in rows:
        if r.get("context_lang") != "en":
            continue
        context = str(r["context"])
        answers = tuple(
            (str(a["text"]), int(a["start"]))
            for a in r["answers"]  # type: ignore[attr-defined]
        )
        group = f"afriqa-{r['title']}"
        for lang, question in ((str(r["lang"]), str(r["question"])), ("en", str(r["question_en"]))):
            if lang == "en" and rng.random() < 0.5:
                continue
            rid = f"{r['id']}-{lang}"
            yield CrossRow(rid, "afriqa", lang, "en", question, context, answers, group)
            if rng.random() < 0.35:
                changed = swaps.swapped(question, "en", context, "en", pool_en, rng)
                if changed is not None:
                    yield CrossRow(rid + "-swap", "swap", lang, "en", changed, context, (), group)
            said = tuple(a for a, _ in answers)
            if bm25 is not None and rng.random() < near:
                for i in bm25.top(str(r["question_en"]), "en", 8):
                    other = contexts[i]
                    if title_of[other] != str(r["title"]) and not holds(other, said):
                        yield CrossRow(
                            rid + "-near", "near", lang, "en", question, other, (), group
                        )
                        break
            if near > 0 and news and lang != "en" and rng.random() < near / 2:
                yield from _news_row(rid, lang, question, said, news, rng, group)


def spans_swaps(rows: Sequence[Row], rng: random.Random, share: float = 0.15) -> Iterator[CrossRow]:
    """`spans.jsonl` questions (English and Turkish) with an entity swapped: no answer."""
    pools: dict[str, list[str]] = {}
    for lang in ("en", "tr"):
        pools[lang] = swaps.names_of([r.question for r in rows if r.lang == lang])
    for r in rows:
        if r.lang not in pools or rng.random() >= share:
            continue
        changed = swaps.swapped(r.question, r.lang, r.context, r.lang, pools[r.lang], rng)
        if changed is not None:
            yield CrossRow(f"{r.id}-swap", "swap", r.lang, r.lang, changed, r.context, (), r.title)


class _NearParagraphs:
    """NTREX's paragraphs, every language, for the paragraph of another document nearest a
    question (BM25 in the question's language), taken in the passage's language."""

    def __init__(self, docs: dict[str, list[dict[str, str]]]) -> None:
        self.where: list[tuple[str, int, str]] = []  # (document, paragraph, language)
        self.texts: dict[tuple[str, int, str], str] = {}
        for doc, lines in sorted(docs.items()):
            for lang in LANGS:
                for i, (text, _) in enumerate(paragraphs(lines, lang)):
                    self.where.append((doc, i, lang))
                    self.texts[(doc, i, lang)] = text
        self.bm25 = Bm25([self.texts[w] for w in self.where], [w[2] for w in self.where])

    def find(
        self, question: str, q_lang: str, p_lang: str, doc: str, said: Sequence[str]
    ) -> str | None:
        for i in self.bm25.top(question, q_lang, 30):
            other, paragraph, lang = self.where[i]
            if lang != q_lang or other == doc:
                continue
            text = self.texts[(other, paragraph, p_lang)]
            return None if holds(text, said) else text
        return None


def _news_row(
    base: str,
    lang: str,
    question: str,
    said: Sequence[str],
    news: Sequence[str],
    rng: random.Random,
    group: str,
) -> Iterator[CrossRow]:
    """The question against a random English news paragraph that does not hold its answer."""
    text = rng.choice(news)
    if not holds(text, said):
        yield CrossRow(base + "-news", "far", lang, "en", question, text, (), group)


def _once(text: str, value: str) -> bool:
    return len(re.findall(rf"(?<![\d.,]){re.escape(value)}(?![\d]|[.,]\d)", text)) == 1


def _find(text: str, value: str, start: int) -> int | None:
    m = re.compile(rf"(?<![\d.,]){re.escape(value)}(?![\d]|[.,]\d)").search(text, start)
    return None if m is None else m.start()


def cross_rows(
    folder: Path,
    spans: Sequence[Row],
    seed: int,
    near: float = 0.0,
    news: Sequence[str] = (),
    distract: float = 0.0,
) -> list[CrossRow]:
    """Every cross-language and swapped row one pass makes from `folder` (../shared/train),
    in a seeded order; with `near`, the near passages across languages too, with `distract`
    the sentences of the same kind (module doc)."""
    rng = random.Random(seed)
    docs = ntrex_documents(folder / "parallel" / "ntrex.jsonl")
    tatoeba = _read_jsonl(folder / "parallel" / "tatoeba.jsonl")
    afriqa = _read_jsonl(folder / "cross" / "afriqa.jsonl")
    out = [
        *number_rows(docs, rng, near=near, news=news, distract=distract),
        *translation_rows(docs, tatoeba, rng),
        *afriqa_rows(afriqa, rng, near=near, news=news),
        *spans_swaps(spans, rng),
    ]
    rng.shuffle(out)
    return out
