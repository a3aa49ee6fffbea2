"""Questions made unanswerable by swapping one entity, pure: "Who is the president of
Kazakhstan?" asked of a passage about Azerbaijan's president. The passage names the entity the
question was written about; the swapped question names another of the same kind (a country,
a year, a number, a name) that the passage does not hold, or, for a country, one the passage
names in another role; its target is "no answer".

A country may also be swapped for another the passage names (it answers for that one, not the
one asked about). Countries are matched by stem in each of the region's languages, so an
inflected form ("Казахстана", "Qazaxıstanın") is found and keeps its ending after the swap.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from ..articles.lexical import UZBEK_TURNED_COMMAS

LANGS = ("en", "ru", "az", "kk", "tr", "uz")

# One row a country: its stem in en, ru, az, kk, tr, uz (a stem: the part every inflected
# form starts with, so Russian stems drop the nominative's last vowel).
COUNTRIES: tuple[tuple[str, ...], ...] = (
    ("Kazakhstan", "Казахстан", "Qazaxıstan", "Қазақстан", "Kazakistan", "Qozogʻiston"),
    ("Azerbaijan", "Азербайджан", "Azərbaycan", "Әзірбайжан", "Azerbaycan", "Ozarbayjon"),
    ("Uzbekistan", "Узбекистан", "Özbəkistan", "Өзбекстан", "Özbekistan", "Oʻzbekiston"),
    ("Turkey", "Турци", "Türkiyə", "Түркия", "Türkiye", "Turkiya"),
    ("Russia", "Росси", "Rusiya", "Ресей", "Rusya", "Rossiya"),
    ("Kyrgyzstan", "Киргизи", "Qırğızıstan", "Қырғызстан", "Kırgızistan", "Qirgʻiziston"),
    (
        "Turkmenistan",
        "Туркменистан",
        "Türkmənistan",
        "Түрікменстан",
        "Türkmenistan",
        "Turkmaniston",
    ),
    ("China", "Кита", "Çin", "Қытай", "Çin", "Xitoy"),
    ("France", "Франци", "Fransa", "Франция", "Fransa", "Fransiya"),
    ("Germany", "Германи", "Almaniya", "Германия", "Almanya", "Germaniya"),
    ("Japan", "Япони", "Yaponiya", "Жапония", "Japonya", "Yaponiya"),
    ("India", "Инди", "Hindistan", "Үндістан", "Hindistan", "Hindiston"),
    ("Iran", "Иран", "İran", "Иран", "İran", "Eron"),
    ("Georgia", "Грузи", "Gürcüstan", "Грузия", "Gürcistan", "Gruziya"),
    ("Ukraine", "Украин", "Ukrayna", "Украина", "Ukrayna", "Ukraina"),
    ("Italy", "Итали", "İtaliya", "Италия", "İtalya", "Italiya"),
    ("Spain", "Испани", "İspaniya", "Испания", "İspanya", "Ispaniya"),
    ("Brazil", "Бразили", "Braziliya", "Бразилия", "Brezilya", "Braziliya"),
    ("Canada", "Канад", "Kanada", "Канада", "Kanada", "Kanada"),
    ("Mexico", "Мексик", "Meksika", "Мексика", "Meksika", "Meksika"),
    ("Indonesia", "Индонези", "İndoneziya", "Индонезия", "Endonezya", "Indoneziya"),
    ("Pakistan", "Пакистан", "Pakistan", "Пәкістан", "Pakistan", "Pokiston"),
    ("Egypt", "Египт", "Misir", "Мысыр", "Mısır", "Misr"),
    ("Poland", "Польш", "Polşa", "Польша", "Polonya", "Polsha"),
    ("Britain", "Британи", "Britaniya", "Британия", "Britanya", "Britaniya"),
    ("America", "Америк", "Amerika", "Америка", "Amerika", "Amerika"),
    ("Mongolia", "Монголи", "Monqolustan", "Моңғолия", "Moğolistan", "Mongoliya"),
    ("Afghanistan", "Афганистан", "Əfqanıstan", "Ауғанстан", "Afganistan", "Afgʻoniston"),
    ("Israel", "Израил", "İsrail", "Израиль", "İsrail", "Isroil"),
    ("Korea", "Коре", "Koreya", "Корея", "Kore", "Koreya"),
    ("Australia", "Австрали", "Avstraliya", "Аустралия", "Avustralya", "Avstraliya"),
    ("Nigeria", "Нигери", "Nigeriya", "Нигерия", "Nijerya", "Nigeriya"),
)

# Of country swaps where the passage names another country too, the share that swap in that
# one: a passage naming two countries is where a reader takes one's president for the other's.
PRESENT_SHARE = 0.5
_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*(?![\d])")
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b([A-ZÀ-ÖØ-ÞİŞĞÇÜÖƏА-ЯЁӘҒҚҢӨҰҮҺІ][\wʼʻ'-]{2,})")


def _stem(stem: str) -> str:
    """`stem` as a pattern, its ʻ matching however it is typed ("Qozog'iston", "Qozog‘iston":
    `lexical.UZBEK_TURNED_COMMAS`)."""
    turned = f"[{re.escape(UZBEK_TURNED_COMMAS)}]"
    return "".join(turned if c == "ʻ" else re.escape(c) for c in stem)


def _contains(text: str, stem: str, end: str = "", any_case: bool = True) -> bool:
    flags = re.IGNORECASE if any_case else 0
    return re.search(rf"(?<!\w){_stem(stem)}{end}", text, flags) is not None


def countries_in(
    text: str, lang: str, names_only: bool = False, any_case: bool = False
) -> list[int]:
    """The rows of `COUNTRIES` whose stem in `lang` starts a word of `text`. With `names_only`,
    only the country's name: in English the whole word or its possessive (not "American",
    "Indian"), and capitalised as written here unless `any_case` (not Russian "казахстанский";
    a question typed in lower case still names its country)."""
    col = LANGS.index(lang)
    end = r"(?:'s|’s)?(?!\w)" if names_only and lang == "en" else ""
    any_case = any_case or not names_only
    return [i for i, row in enumerate(COUNTRIES) if _contains(text, row[col], end, any_case)]


def replace_country(question: str, old: str, new: str) -> str:
    """`question` with the first word that starts with the stem `old` starting with `new`
    instead, its ending kept ("Казахстана" -> "Азербайджана")."""
    pattern = re.compile(rf"(?<!\w){_stem(old)}", re.IGNORECASE)
    return pattern.sub(lambda _: new, question, count=1)


def swap_country(
    question: str, q_lang: str, passage: str, p_lang: str, rng: random.Random
) -> str | None:
    """The question with a country the passage names replaced by another: when the passage
    names other countries too, one of those half the time (`PRESENT_SHARE`: "Who is the
    president of Kazakhstan?" of a passage on Azerbaijan's president and his visit to
    Kazakhstan), else one it does not name."""
    if q_lang not in LANGS or p_lang not in LANGS:
        return None
    q_col, p_col = LANGS.index(q_lang), LANGS.index(p_lang)
    named = [i for i in countries_in(question, q_lang) if _contains(passage, COUNTRIES[i][p_col])]
    if not named:
        return None
    old = COUNTRIES[rng.choice(named)][q_col]
    others = [row for row in COUNTRIES if row[q_col].lower() != old.lower()]
    present = [row for row in others if _contains(passage, row[p_col])]
    absent = [row for row in others if not _contains(passage, row[p_col])]
    pick_from = present if present and rng.random() < PRESENT_SHARE else absent
    if not pick_from:
        return None
    return replace_country(question, old, rng.choice(pick_from)[q_col])


def swap_number(question: str, passage: str, rng: random.Random, keep: str = "") -> str | None:
    """The question with a number the passage holds (a year: "the 2004 tsunami") replaced by
    a nearby one it does not hold; `keep` (the answer, if the question holds it) stays."""
    held = [m for m in _NUMBER.finditer(question) if m.group() != keep and m.group() in passage]
    if not held:
        return None
    m = rng.choice(held)
    value = m.group()
    digits = value.replace(",", "").replace(".", "")
    if not digits.isdigit() or len(digits) > 9:
        return None
    n = int(digits)
    for _ in range(8):
        shift = rng.choice([-1, 1]) * rng.randint(1, 12 if 1800 <= n <= 2100 else max(2, n // 2))
        new = str(max(n + shift, 1))
        if new != digits and not re.search(rf"(?<!\d){new}(?!\d)", passage):
            return question[: m.start()] + new + question[m.end() :]
    return None


def swap_name(question: str, passage: str, pool: Sequence[str], rng: random.Random) -> str | None:
    """The question with a capitalised name the passage holds replaced by another question's
    name (same script) that the passage does not hold."""
    held = [m for m in _NAME.finditer(question) if m.group(1) in passage]
    if not held or not pool:
        return None
    m = rng.choice(held)
    old = m.group(1)
    cyrillic = re.match(r"[А-ЯЁӘҒҚҢӨҰҮҺІ]", old) is not None
    for _ in range(8):
        new = rng.choice(pool)
        if (re.match(r"[А-ЯЁӘҒҚҢӨҰҮҺІ]", new) is not None) != cyrillic:
            continue
        if new != old and new.lower() not in passage.lower():
            return question[: m.start(1)] + new + question[m.end(1) :]
    return None


def names_of(questions: Sequence[str]) -> list[str]:
    """The capitalised names (not sentence-initial) the questions hold: the swap pool."""
    return sorted({m.group(1) for q in questions for m in _NAME.finditer(q)})


def swapped(
    question: str,
    q_lang: str,
    passage: str,
    p_lang: str,
    pool: Sequence[str],
    rng: random.Random,
    keep: str = "",
) -> str | None:
    """One swap, the most telling kind the question allows: a country, then a number, then a
    name (None: nothing in the question is named by the passage)."""
    for make in (
        lambda: swap_country(question, q_lang, passage, p_lang, rng),
        lambda: swap_number(question, passage, rng, keep),
        lambda: swap_name(question, passage, pool, rng),
    ):
        out = make()
        if out is not None and out != question:
            return out
    return None
