"""`khabar reader train`: fine-tune the reader on `../shared/train/spans.jsonl`.

Seeded and resumable: a checkpoint (trained weights, optimiser, step) is written every few
minutes and on Ctrl-C, and the same command carries on from it. A validation curve on the 5%
of titles held back is printed and kept in `curve.jsonl` beside the checkpoint. At the end (or
on Ctrl-C) the best validated weights so far (`merit`) are written to the weights folder
(`index/reader/weights` by default).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import KhabarError
from ..model import e5convert, tokens
from ..model.encoders import usable_cpus
from . import cross
from . import model as reader_model
from . import pack as packs
from .examples import (
    Builder,
    Example,
    Row,
    build_examples,
    held_back,
    held_out,
    news_paragraphs,
    read_rows,
)
from .pairs import NEGATIVE, Specials, best_span
from .score import token_f1

CHECKPOINT = "checkpoint.pt"
CURVE = "curve.jsonl"
SNAPSHOTS = "snapshots"
MAX_PASSES = 50  # over the training rows, each with its own seed, to reach `examples`


@dataclass(frozen=True)
class Options:
    data: Path  # the folder with spans.jsonl
    work: Path  # checkpoints and the validation curve
    out: Path = reader_model.WEIGHTS_DIR
    news: Path | None = None  # plain-text articles for random English negatives
    examples: int = 24_000  # training examples seen (the schedule's length)
    batch_size: int = 16
    learning_rate: float = 1e-4
    seed: int = 13
    minutes: float | None = None  # stop (and export) after this long, even mid-schedule
    validate_every: int = 200
    validation_examples: int = 240
    checkpoint_minutes: float = 5.0
    recipe: reader_model.Recipe = field(default_factory=reader_model.Recipe)
    device: str = "auto"  # "auto": a CUDA GPU when torch sees one, else the CPU
    pack: Path | None = None  # a training pack (`pack.py`) instead of `data` and `news`
    # The share of examples from `cross.py` (cross-language, translations, swapped entities),
    # read from `data`'s cross/ and parallel/ folders; 0: spans.jsonl alone.
    cross_share: float = 0.0
    init: Path | None = None  # start from these trained weights (a weights folder), not e5's
    # The share of cross-language questions also put against a near passage of another
    # document, and half of it against a random news paragraph (`cross.py`); 0: none.
    near: float = 0.0
    # The share of number questions also put among the sentences stating a number of the
    # same kind nearest them, and against those alone (`cross.py`, "distract" and "decoy");
    # 0: none.
    distract: float = 0.0
    # Also write the weights of every validated step, each a weights folder of its own
    # (work/snapshots/step-N: the card with that step's validation), to measure other steps than
    # the best (`KHABAR_READER_WEIGHTS=DIR khabar eval ...`): the best by `merit` is chosen on a
    # few hundred held-back rows, some kinds a dozen.
    snapshots: bool = False

    def fingerprint(self) -> str:
        skip = ("minutes", "out", "work", "device", "snapshots")
        keep = {k: str(v) for k, v in asdict(self).items() if k not in skip}
        for added in ("near", "distract"):
            if not getattr(self, added):
                del keep[added]  # the runs before it resume as they were
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def specials_of(tokenizer: Any, pad: int) -> Specials:
    ((ids, _),) = tokenizer.encode([""], for_model=True)
    return Specials(bos=ids[0], eos=ids[-1], pad=pad)


def training_examples(
    rows: Sequence[Row], builder: Builder, news: Sequence[str], options: Options
) -> list[Example]:
    """`options.examples` examples: passes over the rows, each pass with its own seed (other
    windows and negatives), as many as that takes; the first pass is seeded `options.seed`."""
    out: list[Example] = []
    for n in range(MAX_PASSES):
        before = len(out)
        for e in build_examples(rows, builder, news, options.seed + 1000 * n):
            out.append(e)
            if len(out) >= options.examples:
                return out
        if len(out) == before:
            break
    return out


def build_data(
    folder: Path, options: Options
) -> tuple[Specials, list[Example], list[Example], Callable[[str], list[int]]]:
    """The training and held-back examples `options` asks for, from `options.data`, built with
    e5's tokenizer (in `folder`); and that tokenizer, as text -> ids."""
    tokenizer = tokens.load(folder, 512)
    pad = int(json.loads((folder / "config.json").read_text(encoding="utf-8"))["pad_token_id"])
    specials = specials_of(tokenizer, pad)
    rows = read_rows(options.data / "spans.jsonl")
    builder = Builder(tokenizer, specials, options.recipe.max_length)
    news = news_paragraphs(options.news)
    train_rows = [r for r in rows if not held_out(r)]
    val_rows = [r for r in rows if held_out(r)]
    if not train_rows or not val_rows:
        raise KhabarError(f"{options.data / 'spans.jsonl'} has too few titles to hold 5% back")
    if options.cross_share > 0:
        wanted = round(options.examples * options.cross_share)
        mixed = cross_examples(
            options.data,
            train_rows,
            builder,
            options.seed,
            wanted,
            False,
            options.near,
            news,
            options.distract,
        )
        own = replace(options, examples=options.examples - len(mixed))
        examples = training_examples(train_rows, builder, news, own) + mixed
        random.Random(options.seed).shuffle(examples)
    else:
        examples = training_examples(train_rows, builder, news, options)
    held = list(build_examples(val_rows, builder, news, options.seed + 1))
    held = validation_of(held, options)
    if options.cross_share > 0:
        held += cross_examples(
            options.data,
            val_rows,
            builder,
            options.seed + 1,
            0,
            True,
            options.near,
            news,
            options.distract,
        )
    return specials, examples, held, lambda t: builder.tokens(t)[0]


def validation_of(held: Sequence[Example], options: Options) -> list[Example]:
    """The held-back examples validation checks: `options.validation_examples` of
    `spans.jsonl`'s, and every one of the other kinds (`cross_examples`' held back, at most
    CROSS_HELD_PER_KIND a kind), whether they were just built or come from a pack."""
    spans = [e for e in held if e.kind == "spans"][: options.validation_examples]
    return spans + [e for e in held if e.kind != "spans"]


CROSS_HELD_PER_KIND = 60
AFRIQA_KEPT = 0.35  # of AfriQA's rows in a pass: they would otherwise be half of every pass


def cross_examples(
    folder: Path,
    spans: Sequence[Row],
    builder: Builder,
    seed: int,
    count: int,
    held: bool,
    near: float = 0.0,
    news: Sequence[str] = (),
    distract: float = 0.0,
) -> list[Example]:
    """`count` training examples from `cross.py`'s rows (passes with their own seeds), or with
    `held`, `CROSS_HELD_PER_KIND` held-back examples of each kind."""
    out: list[Example] = []
    per_kind: dict[str, int] = {}
    for n in range(MAX_PASSES):
        rng = random.Random(seed + 1000 * n)
        before = len(out)
        for r in cross.cross_rows(folder, spans, seed + 1000 * n, near, news, distract):
            if held_back(r.group) != held:
                continue
            if r.kind == "afriqa" and rng.random() > AFRIQA_KEPT:
                continue
            if held and per_kind.get(r.kind, 0) >= CROSS_HELD_PER_KIND:
                continue
            e = builder.example(r.question, r.context, r.answers, rng, r.kind)
            if e is None:
                continue
            out.append(e)
            per_kind[r.kind] = per_kind.get(r.kind, 0) + 1
            if not held and len(out) >= count:
                return out
        if held or len(out) == before:
            break
    return out


def make_pack(models_dir: Path, options: Options, out: Path) -> dict[str, Any]:
    """`khabar reader pack`: the examples `train` would build with `options`, and the part of
    e5 they use, written to `out` for `train` on another machine (`pack.py`)."""
    folder = e5convert.ensure_model(models_dir)
    specials, examples, held, tokenize = build_data(folder, options)
    kept = (
        "data",
        "news",
        "examples",
        "seed",
        "validation_examples",
        "cross_share",
        "near",
        "distract",
    )
    origin = {k: str(v) for k, v in asdict(options).items() if k in kept}
    return packs.write(out, options.recipe, specials, examples, held, tokenize, origin)


def batches(examples: Sequence[Example], size: int, seed: int) -> list[list[Example]]:
    """Batches of similar length (little padding), in a seeded order."""
    rng = random.Random(seed)
    out: list[list[Example]] = []
    group = size * 50
    for begin in range(0, len(examples), group):
        chunk = sorted(examples[begin : begin + group], key=lambda e: len(e.ids))
        out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def tensors(batch: Sequence[Example], pad: int) -> tuple[Any, Any, Any]:
    """Padded ids, attention mask, and the mask of positions that may start or end a span."""
    import torch

    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    allowed = torch.zeros((len(batch), width), dtype=torch.bool)
    for row, e in enumerate(batch):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        mask[row, : len(e.ids)] = 1
        allowed[row, 0] = True
        allowed[row, e.first : e.last] = True
    return ids, mask, allowed


def loss_of(model: Any, batch: Sequence[Example], pad: int) -> Any:
    import torch

    device = next(model.parameters()).device
    ids, mask, allowed = (t.to(device) for t in tensors(batch, pad))
    with _precision(model):
        start, end = model(ids, mask)
    start = start.float().masked_fill(~allowed, NEGATIVE)
    end = end.float().masked_fill(~allowed, NEGATIVE)
    starts = torch.tensor([e.start for e in batch], device=device)
    ends = torch.tensor([e.end for e in batch], device=device)
    ce = torch.nn.functional.cross_entropy
    return (ce(start, starts) + ce(end, ends)) / 2


def validate(model: Any, examples: Sequence[Example], pad: int) -> dict[str, float]:
    """Loss, span F1 and exact match on answerable examples, and how often "is there an
    answer" (span score above 0) is right, on the held-back examples."""
    import torch

    model.eval()
    losses, f1s, exact, right = [], [], [], 0
    with torch.no_grad():
        for begin in range(0, len(examples), 32):
            batch = list(examples[begin : begin + 32])
            losses.append(float(loss_of(model, batch, pad)) * len(batch))
            device = next(model.parameters()).device
            ids, mask, _ = (t.to(device) for t in tensors(batch, pad))
            with _precision(model):
                logits = model(ids, mask)
            starts, ends = (t.float().cpu().numpy() for t in logits)
            for e, s, t in zip(batch, starts, ends, strict=True):
                span = best_span(s, t, e.first, e.last)
                answers = span is not None and span.score > 0
                text = (
                    e.passage[e.offsets[span.start][0] : e.offsets[span.end][1]]
                    if (span is not None and answers)
                    else ""
                )
                right += int(answers == (e.start != 0))
                if e.start != 0:
                    f1s.append(token_f1(text, e.answers))
                    exact.append(float(token_f1(text, e.answers) == 1.0))
    model.train()
    n = max(len(examples), 1)
    return {
        "loss": round(sum(losses) / n, 4),
        "span_f1": round(sum(f1s) / max(len(f1s), 1), 4),
        "exact": round(sum(exact) / max(len(exact), 1), 4),
        "has_answer_accuracy": round(right / n, 4),
    }


def _precision(model: Any) -> Any:
    """bfloat16 autocast on a GPU (several times faster there); float32 on the CPU, where
    bfloat16 was 5x slower on a CPU without AMX (docs/benchmarks.md)."""
    import torch

    if next(model.parameters()).device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # whole or not at all: an interrupted save keeps the last one


def train(models_dir: Path, options: Options, progress: bool = True) -> dict[str, Any]:
    """Train, checkpointing as it goes; write the weights to `options.out` at the end."""
    import torch
    from tqdm import tqdm

    torch.set_num_threads(usable_cpus())
    recipe = options.recipe
    if options.pack is not None:
        pack = packs.read(options.pack)
        if (pack.recipe.layers, pack.recipe.max_length) != (recipe.layers, recipe.max_length):
            raise packs.PackError(
                f"the pack {options.pack} holds {pack.recipe.layers} layers and windows of "
                f"{pack.recipe.max_length} tokens; train it with --layers {pack.recipe.layers}"
            )
        folder = packs.e5_folder(options.pack, models_dir)
        specials, examples, held = pack.specials, pack.examples, pack.held
        examples, held = examples[: options.examples], validation_of(held, options)
    else:
        folder = e5convert.ensure_model(models_dir)
        specials, examples, held, _ = build_data(folder, options)
    torch.manual_seed(options.seed)  # here: making e5's folder may draw random numbers
    model = reader_model.build(folder, recipe)
    if options.init is not None:
        reader_model.load_trained(model, recipe, options.init)
    if options.device != "cpu" and torch.cuda.is_available():
        model = model.to("cuda")  # a GPU where there is one: minutes instead of an hour
    plan = batches(examples, options.batch_size, options.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=options.learning_rate, weight_decay=0.01)
    warmup = max(1, len(plan) // 16)
    decay = max(1, len(plan) - warmup)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / decay))
    )
    options.work.mkdir(parents=True, exist_ok=True)
    checkpoint = options.work / CHECKPOINT
    step, curve = 0, []
    best: dict[str, Any] = {}  # the best validated weights so far: step, merit, weights
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False, map_location="cpu")
        if state.get("fingerprint") == options.fingerprint():
            model.load_state_dict(state["weights"], strict=False)
            optimiser.load_state_dict(state["optimiser"])
            schedule.load_state_dict(state["schedule"])
            step, curve = int(state["step"]), list(state["curve"])
            best = dict(state.get("best") or {})
            torch.set_rng_state(state["rng"].cpu())
            print(f"resuming from step {step} of {len(plan)} ({checkpoint})", file=sys.stderr)
        else:
            print(f"{checkpoint} is from other settings: starting afresh", file=sys.stderr)

    def save_state() -> None:
        _save_checkpoint(
            checkpoint,
            {
                "fingerprint": options.fingerprint(),
                "step": step,
                "curve": curve,
                "weights": reader_model.trained_state(model, recipe),
                "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict(),
                "rng": torch.get_rng_state(),
                "best": best,
            },
        )

    def keep_best() -> None:
        point = curve[-1]
        if not best or merit(point) > best["merit"]:
            weights = reader_model.trained_state(model, recipe)
            best.update(
                step=point["step"],
                merit=merit(point),
                weights={n: t.detach().clone().cpu() for n, t in weights.items()},
            )

    def write_best() -> Path:
        if not best:  # a checkpoint from before best weights were kept: the last ones
            keep_best()
        model.load_state_dict(best["weights"], strict=False)
        validation = next(p for p in curve if p["step"] == best["step"])
        summary.update(best_step=best["step"], validation=validation)
        return reader_model.save(model, recipe, options.out, extra={"training": summary})

    kinds = sorted({e.kind for e in held})

    def record() -> None:
        point: dict[str, Any] = {
            "step": step,
            "examples": step * options.batch_size,
            **validate(model, [e for e in held if e.kind == "spans"] or held, specials.pad),
        }
        if kinds != ["spans"]:
            point["by_kind"] = {
                k: validate(model, [e for e in held if e.kind == k], specials.pad) for k in kinds
            }
        curve.append(point)
        keep_best()
        with (options.work / CURVE).open("a", encoding="utf-8") as f:
            f.write(json.dumps(point) + "\n")
        if options.snapshots:
            snapshot = {**summary, "steps": step, "examples_seen": step * options.batch_size}
            folder = options.work / SNAPSHOTS / f"step-{step}"
            reader_model.save(
                model, recipe, folder, extra={"training": snapshot | {"validation": point}}
            )
        bar.write(f"validation at step {step}: {json.dumps(point)}")

    started = last_save = time.monotonic()
    bar = tqdm(
        total=len(plan),
        initial=step,
        unit="batch",
        desc="training the reader",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    model.train()
    stopped_early = False
    summary: dict[str, Any] = {
        "of_steps": len(plan),
        "training_examples": len(examples),
        "options_fingerprint": options.fingerprint(),
    }
    try:
        if step == 0:
            record()
        while step < len(plan):
            loss = loss_of(model, plan[step], specials.pad)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if step % options.validate_every == 0 or step == len(plan):
                record()
            now = time.monotonic()
            if now - last_save > options.checkpoint_minutes * 60:
                save_state()
                last_save = now
            if options.minutes is not None and now - started > options.minutes * 60:
                stopped_early = step < len(plan)
                break
    except KeyboardInterrupt:
        save_state()
        bar.close()
        summary.update(steps=step, examples_seen=step * options.batch_size, stopped_early=True)
        written = write_best() if best else None
        raise KhabarError(
            f"training interrupted at step {step} of {len(plan)}; the same command resumes it"
            + (f" (the best weights so far are in {written.parent})" if written else "")
        ) from None
    bar.close()
    if not curve or curve[-1]["step"] != step:
        record()
    save_state()
    summary.update(steps=step, examples_seen=step * options.batch_size, stopped_early=stopped_early)
    write_best()
    return summary


def merit(point: dict[str, Any]) -> float:
    """What "best" means for a validation point: span F1 and has-answer accuracy, averaged
    over the kinds of held-back examples (spans.jsonl's, and `cross.py`'s when trained on)."""
    parts = list(point.get("by_kind", {}).values()) or [point]
    return sum((p["span_f1"] + p["has_answer_accuracy"]) / 2 for p in parts) / len(parts)
