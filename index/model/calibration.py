"""Which encoder builds fastest on this machine: measured, not guessed from CPU flags.

A flag list is the wrong way to choose: bfloat16 autocast is 2.5x faster than float32 on CPUs
with AMX, but slower on CPUs whose AVX-512 BF16 torch does not use well, and ONNX Runtime wins on
others. So the first bulk build on a machine encodes the same passages with each candidate
(ONNX Runtime float32, torch float32, torch bfloat16) and keeps the fastest whose vectors match
float32's (cosine ≥ 0.9999). The choice is remembered in the models folder per CPU model, model
and library versions, and measured again when any of them changes. `KHABAR_BULK_ENCODER` forces
one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

CANDIDATES = ("onnx", "torch", "torch-bf16")  # the first is the reference for the vectors
MIN_COSINE = 0.9999
FILE_NAME = "calibration.json"
PASSAGES = 16  # about 300 tokens each, as a build's passages: seconds a candidate on 2 cores
BATCH = 16
PROBE = 4  # texts each candidate encodes first, to leave the race early if far behind
# After the probe and the first round, a candidate this many times slower than the fastest is
# not timed again (bfloat16 on an AVX2-only CPU took 17 s a round where float32 took 3.6).
OUT_OF_RACE = 1.5


class Encodes(Protocol):
    def encode_tokens(
        self, texts: Sequence[str], batch_size: int
    ) -> Sequence[tuple[np.ndarray, np.ndarray, Any]]: ...


def _vectors(encoder: Encodes, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """What a build asks of the encoder: passage vectors with their token embeddings (for the
    sentence vectors), so the timing is the build's."""
    return np.stack([out[0] for out in encoder.encode_tokens(texts, batch_size)])


@dataclass(frozen=True)
class Trial:
    encoder: str
    seconds: float  # to encode the calibration passages (the faster of two rounds)
    cosine: float  # the lowest cosine of its vectors to the reference's
    error: str = ""  # why it could not run (then it is not chosen)


def choose(trials: Sequence[Trial]) -> str:
    """The fastest candidate whose vectors are the reference's (pure)."""
    usable = [t for t in trials if not t.error and t.cosine >= MIN_COSINE]
    if not usable:
        return CANDIDATES[0]
    return min(usable, key=lambda t: t.seconds).encoder


def sample_passages(n: int | None = None) -> list[str]:
    """News-like passages of about 300 tokens in the region's languages (deterministic)."""
    sentences = [
        "The Organization of Turkic States met in Baku to discuss transport corridors and trade.",
        "Kazakhstan exported a record wheat harvest through the Caspian ports of Aktau and Kuryk.",
        "Организация тюркских государств обсудила в Баку транспортные коридоры и торговлю.",
        "Türk Devletleri Teşkilatı zirvesinde enerji ve ulaştırma projeleri ele alındı.",
        "Türk Dövlətləri Təşkilatının sammitində nəqliyyat dəhlizləri müzakirə olundu.",
        "Түркі мемлекеттері ұйымының саммитінде көлік дәліздері талқыланды.",
        "The ferry crossing from Baku to Aktau takes about eighteen hours in calm weather.",
        "Officials said the new rail link would cut freight times between China and Europe.",
    ]
    out = []
    for i in range(PASSAGES if n is None else n):
        picked = [sentences[(i * 3 + j) % len(sentences)] for j in range(14 + i % 4)]
        out.append(f"passage: Report {i}. " + " ".join(picked))
    return out


def measure(
    makers: dict[str, Callable[[], Encodes]],
    texts: Sequence[str],
    batch_size: int = BATCH,
    clock: Callable[[], float] = time.perf_counter,
    rounds: int = 2,
) -> list[Trial]:
    """Encode `texts` with each candidate after a warm-up, `rounds` times in turn (so that a
    moment of load elsewhere slows them all alike), keeping each one's fastest round.

    A candidate far behind cannot win, so it is not timed in full: each first encodes `PROBE`
    of the texts, and one `OUT_OF_RACE` times slower than the fastest there stops (its seconds
    are the probe's, scaled to all the texts); after the first round, the same again."""
    ready: dict[str, Encodes] = {}
    failed: dict[str, str] = {}
    for name, make in makers.items():
        try:
            encoder = make()
            _vectors(encoder, texts[:2], batch_size)  # warm-up: first calls are not speed
            ready[name] = encoder
        except Exception as exc:  # e.g. torch not installed: not a candidate here
            failed[name] = f"{type(exc).__name__}: {exc}"[:200]
    best = dict.fromkeys(ready, float("inf"))
    vectors: dict[str, np.ndarray] = {}
    probe = texts[:PROBE]
    for name, encoder in ready.items():
        started = clock()
        vectors[name] = _vectors(encoder, probe, batch_size)
        best[name] = (clock() - started) * len(texts) / len(probe)
    racing = _in_race(best, list(ready))
    best.update(dict.fromkeys(racing, float("inf")))  # the probe's estimate gives way to rounds
    for round_ in range(rounds):
        for name in racing:
            started = clock()
            vectors[name] = _vectors(ready[name], texts, batch_size)
            best[name] = min(best[name], clock() - started)
        if round_ == 0:
            racing = _in_race(best, racing)
    reference = next(iter(vectors.values()), None)
    trials = []
    for name in makers:
        if name in failed:
            trials.append(Trial(name, float("inf"), 0.0, failed[name]))
            continue
        assert reference is not None
        rows = min(len(reference), len(vectors[name]))  # a candidate out of the race: the probe
        cosine = float(np.min(np.sum(reference[:rows] * vectors[name][:rows], axis=1)))
        trials.append(Trial(name, round(best[name], 4), round(cosine, 6)))
    return trials


def _in_race(seconds: dict[str, float], racing: list[str]) -> list[str]:
    fastest = min(seconds[name] for name in racing) if racing else 0.0
    return [name for name in racing if seconds[name] <= OUT_OF_RACE * fastest]


def machine_key(model: str) -> str:
    """What a choice holds for: this CPU model and thread count, the model, the libraries and
    the way the model is exported to ONNX."""
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    from .onnx_export import EXPORT_VERSION  # a new export (e.g. fused attention) races again

    parts = [model, _cpu_model(), f"{threads} threads", f"onnx export {EXPORT_VERSION}"]
    for module in ("torch", "onnxruntime"):
        try:  # the installed version, without importing it: torch takes seconds to import
            parts.append(f"{module} {metadata.version(module)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{module} absent")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _cpu_model() -> str:
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Remembered:
    """Choices measured before, in `models_dir/calibration.json`, by `machine_key`."""

    def __init__(self, models_dir: Path) -> None:
        self.path = models_dir / FILE_NAME

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        entry = self._read().get(key)
        choice = entry.get("choice") if isinstance(entry, dict) else None
        return choice if choice in CANDIDATES else None

    def put(self, key: str, model: str, trials: Sequence[Trial]) -> str:
        choice = choose(trials)
        data = self._read()
        data[key] = {
            "choice": choice,
            "model": model,
            "cpu": _cpu_model(),
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "trials": [asdict(t) for t in trials],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(".tmp")
        staging.write_text(json.dumps(data, indent=2), encoding="utf-8")
        staging.replace(self.path)  # never half a file
        return choice


def calibrated(
    models_dir: Path | None,
    model: str,
    makers: dict[str, Callable[[], Encodes]],
    texts: Sequence[str] | None = None,
) -> str:
    """The remembered choice for this machine and model, or a new measurement."""
    key = machine_key(model)
    remembered = Remembered(models_dir) if models_dir is not None else None
    if remembered is not None and (choice := remembered.get(key)) is not None:
        return choice
    log.warning("measuring which encoder builds fastest on this machine (once, under a minute)")
    trials = measure(makers, texts or sample_passages())
    choice = remembered.put(key, model, trials) if remembered else choose(trials)
    log.warning(
        "bulk encoder: %s (%s)",
        choice,
        ", ".join(f"{t.encoder} {t.seconds:.2f} s" for t in trials if not t.error),
    )
    return choice
