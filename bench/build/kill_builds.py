"""Index builds killed (SIGKILL) at random moments, many times.

    python bench/build/kill_builds.py CORPUS [--articles 150] [--kills 40]
        [--model all-MiniLM-L6-v2] [--out bench/results/kills.json]

Indexes the first tenth of CORPUS's articles, then adds the rest and starts `khabar index build`
processes, killing each at a moment drawn uniformly over the time a whole build takes. After
every kill the published index must load, answer, and be the old index or the new one (never a
mix); whenever a build got as far as publishing, the added articles are taken away again (or
put back) so the next build has work to do. Finally one build runs to the end and must match a
clean full build of the same corpus, passage for passage and vector for vector.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import save_and_print  # noqa: E402
from index.articles.formats import iter_corpus_files  # noqa: E402
from index.backends.choose import build_index  # noqa: E402
from index.model.embedder import Embedder  # noqa: E402
from index.settings import Settings  # noqa: E402
from tests.faultkit import kill_builds, same_index, snapshot, start_build  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--articles", type=int, default=150)
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--probe", default="What did the report say about the economy?")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/kills.json")
    args = parser.parse_args()
    files = list(iter_corpus_files(args.corpus))[: args.articles]
    with tempfile.TemporaryDirectory(prefix="khabar-kills-") as tmp:
        root = Path(tmp)
        corpus, added, stash = root / "corpus", root / "corpus" / "added", root / "stash"
        base = max(1, len(files) // 10)
        for i, path in enumerate(files):
            target = (corpus if i < base else added) / path.relative_to(args.corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
        stash.mkdir()

        def settings_for(index: str) -> Settings:
            return Settings(  # type: ignore[call-arg]
                _env_file=None,
                corpus_dir=corpus,
                index_dir=root / index,
                data_dir=root / "data",
                models_dir=ROOT / "data/models",
                model=args.model,
            )

        settings = settings_for("index")
        embedder = Embedder.from_settings(settings)
        held = stash / "added"
        shutil.move(added, held)
        build_index(settings, embedder=embedder)
        shutil.move(held, added)

        trial = settings_for("trial")
        shutil.copytree(settings.index_dir, trial.index_dir, symlinks=True)
        started = time.perf_counter()
        assert start_build(trial).wait() == 0
        full_seconds = time.perf_counter() - started

        def toggle() -> None:
            if added.exists():
                shutil.move(added, held)
            else:
                shutil.move(held, added)

        report = kill_builds(
            settings, args.kills, full_seconds, args.probe, embedder=embedder, on_publish=toggle
        )
        if not added.exists():
            shutil.move(held, added)
        assert start_build(settings).wait() == 0
        clean = settings_for("clean")
        build_index(clean, embedder=embedder)
        differences = same_index(snapshot(settings.index_dir), snapshot(clean.index_dir))
    save_and_print(
        {
            "corpus": str(args.corpus),
            "articles": len(files),
            "model": args.model,
            "build_seconds": round(full_seconds, 1),
            "attempts": args.kills,
            "killed": report.kills,
            "killed_before_publish": report.killed_before_publish,
            "killed_after_publish": report.killed_after_publish,
            "finished_before_kill": report.finished_before_kill,
            "problems": report.problems,
            "final_differs_from_clean_build": differences,
        },
        args.out,
    )
    if report.problems or differences:
        sys.exit(1)


if __name__ == "__main__":
    main()
