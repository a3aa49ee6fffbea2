"""The code's layout stays what the READMEs say: no import cycles, imports only go down the
layers of `index/` and `bot/`, and code outside `index/` uses the engine's public faces.

Read from the source (every import statement, those under `TYPE_CHECKING` and inside
functions included), so nothing is imported. `python tests/test_layout.py` prints the figures
the layout is judged by: modules, cycles, the deepest import chain, the largest module.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("index", "bot", "feeds", "khabar")

# Bottom first. A module may import its own unit or a unit of a lower layer, nothing else.
INDEX_LAYERS = [
    {"index.errors", "index.redact"},
    {"index.settings"},
    {"index.articles", "index.model"},
    {"index.build", "index.reader", "index.lexicon"},
    {"index.backends"},
    {"index.answer"},
    {"index.evaluate"},
    {"index"},
]
BOT_LAYERS = [
    {"bot.testserver"},
    {"bot.messages", "bot.stores", "bot.service"},
    {"bot.transport", "bot.chat"},
    {"bot.core"},
    {"bot.editors"},
    {"bot.readers"},
    {"bot.app"},
    {"bot.serve"},
    {"bot.local"},
]
# The local Bot API server knows Telegram's API, not the bot; the terminal chat knows it and
# the bot's languages (to say what :lang sets).
BOT_APART = {"bot.testserver": set(), "bot.chat": {"bot.testserver", "bot.messages"}}
# Which top-level packages each may import: the engine knows no bot, feeds no bot.
MAY_IMPORT = {
    "index": {"index"},
    "feeds": {"feeds", "index"},
    "bot": {"bot", "feeds", "index"},
    "khabar": {"khabar", "bot", "feeds", "index"},
}


@functools.cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _target(name: str) -> str | None:
    """The project module an import of `name` loads (its nearest existing parent)."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


@functools.cache
def _bound(package: str) -> frozenset[str]:
    """The names a package's `__init__` binds itself (`from .train import train` makes
    `index.reader.train` the function, not the module)."""
    if package not in modules() or not _is_package(package):
        return frozenset()
    tree = ast.parse(modules()[package].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return frozenset(names)


def _imports(name: str) -> set[str]:
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(t for a in node.names if (t := _target(a.name)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if _is_package(name) else name.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join(here + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                named = full in modules() and alias.name not in _bound(base)
                target = full if named else _target(base)
                if target:
                    out.add(target)
    out.discard(name)
    return out


@functools.cache
def graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(_imports(name)) for name in modules()}


def cycles(edges: dict[str, frozenset[str]] | None = None) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    edges = graph() if edges is None else edges
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def unit(name: str) -> str:
    """The stage a module belongs to: `index.answer` for `index.answer.retriever`."""
    return ".".join(name.split(".")[:2])


def layer_violations(
    layers: list[set[str]], prefix: str, edges: dict[str, frozenset[str]] | None = None
) -> list[str]:
    level = {u: i for i, group in enumerate(layers) for u in group}
    wrong = []
    for a, targets in (graph() if edges is None else edges).items():
        if not (a == prefix or a.startswith(prefix + ".")) or unit(a) in BOT_APART:
            continue
        for b in targets:
            if b.split(".")[0] != prefix or unit(b) == unit(a):
                continue
            if unit(a) not in level or unit(b) not in level:
                wrong.append(f"{a} -> {b}: a unit missing from the layers")
            elif level[unit(b)] >= level[unit(a)]:
                wrong.append(f"{a} -> {b}: imports up or sideways")
    return wrong


def deepest_chain(prefix: str) -> list[str]:
    edges = graph()

    @functools.cache
    def longest(v: str) -> tuple[str, ...]:
        best: tuple[str, ...] = ()
        for w in edges[v]:
            if w.startswith(prefix):
                chain = longest(w)
                if len(chain) > len(best):
                    best = chain
        return (v, *best)

    return list(max((longest(v) for v in edges if v.startswith(prefix)), key=len))


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles() == []


def test_the_engine_imports_only_down_its_layers() -> None:
    assert layer_violations(INDEX_LAYERS, "index") == []


def test_the_bot_imports_only_down_its_layers() -> None:
    assert layer_violations(BOT_LAYERS, "bot") == []
    for a, targets in graph().items():
        if unit(a) in BOT_APART:
            others = {unit(b) for b in targets if b.startswith("bot.") and unit(b) != unit(a)}
            assert others <= BOT_APART[unit(a)], f"{a} imports {others}"


def test_packages_import_only_what_they_may() -> None:
    for a, targets in graph().items():
        top = a.split(".")[0]
        assert {b.split(".")[0] for b in targets} <= MAY_IMPORT[top], a


def test_code_outside_the_engine_uses_its_public_faces() -> None:
    """bot/, feeds/ and khabar/ import `index`, a top-level module of it (`index.settings`) or
    a package (`index.answer`: its `__init__` says what it offers), never a module inside."""
    private = [
        f"{a} -> {b}"
        for a, targets in graph().items()
        if not a.startswith("index")
        for b in targets
        if b.startswith("index.") and b.count(".") > 1 and not _is_package(b)
    ]
    assert private == []


def test_the_checks_see_a_cycle_and_an_upward_import() -> None:
    """The checks above can fail: a made-up import back and an upward one are caught."""
    fake = dict(graph())
    fake["index.articles.formats"] = fake["index.articles.formats"] | {"index.answer.hits"}
    fake["index.answer.hits"] = fake["index.answer.hits"] | {"index.articles.formats"}
    assert ["index.answer.hits", "index.articles.formats"] in cycles(fake)
    assert "index.articles.formats -> index.answer.hits: imports up or sideways" in (
        layer_violations(INDEX_LAYERS, "index", fake)
    )


def main() -> None:
    index_top = [m for m in modules() if m.count(".") == 1 and m.startswith("index.")]
    top_modules = [m for m in index_top if not _is_package(m)]
    sizes = {
        m: len(p.read_text(encoding="utf-8").splitlines())
        for m, p in modules().items()
        if m.startswith("index")
    }
    largest = max(sizes, key=lambda m: sizes[m])
    edges = sum(
        1 for a, ts in graph().items() if a.startswith("index") for b in ts if b.startswith("index")
    )
    chain = deepest_chain("index")
    print(
        f"index/: {len(top_modules)} top-level modules, {len(index_top) - len(top_modules)} "
        f"packages, {len(sizes)} modules, {sum(sizes.values())} lines, {edges} imports"
    )
    print(f"cycles: {len(cycles())} {cycles()}")
    print(f"deepest import chain in index/: {len(chain)} modules: {' -> '.join(chain)}")
    print(f"largest module in index/: {largest} ({sizes[largest]} lines)")
    bot_top = [m for m in modules() if m.count(".") == 1 and m.startswith("bot.")]
    print(
        f"bot/: {sum(not _is_package(m) for m in bot_top)} top-level modules, "
        f"{sum(_is_package(m) for m in bot_top)} packages"
    )


if __name__ == "__main__":
    main()
