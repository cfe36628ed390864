"""Diagnosis: how large is each training phase's gradient on the shared encoder?

    OMP_NUM_THREADS=1 python benchmarks/phase_gradients.py [--model full] [--steps 100] \\
        [--fraction 0.1] [--fold 0] [--seed 0] [--phase-optimizers] [--name phase_gradients]

The trainer updates the encoder three times a step (reconstruction, generator, supervised).
With one shared Adam (the default) the second-moment estimate that divides every update mixes
the three phases' gradients: a phase whose gradients are much smaller than another's takes
steps much smaller than the learning rate. This records, per phase and step, the root mean
square of the gradient that phase sends to the encoder's parameters, after its loss weight,
and writes ``benchmarks/results/NAME.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from sertutor.config import get_config
from sertutor.pipeline import build_model, prepare_data
from sertutor.storage import atomic_write_text, data_dir
from sertutor.train import Trainer

RESULTS = Path(__file__).resolve().parent / "results"
PHASES = ("reconstruction_phase", "regularisation_phase", "supervised_phase")


def encoder_gradients(trainer: Trainer, steps: int) -> dict[str, list[float]]:
    """Train ``steps`` steps; per phase, the RMS of its encoder gradient at every step."""
    seen: dict[str, list[float]] = {}
    current = {"phase": ""}
    update = trainer._update

    def recording_update(optimizer, loss):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if optimizer is not trainer.opt_disc:  # the encoder's updates only
            grads = [p.grad.flatten() for p in trainer.model.encoder.parameters()
                     if p.grad is not None]
            seen.setdefault(current["phase"], []).append(
                torch.cat(grads).float().pow(2).mean().sqrt().item())
        optimizer.step()

    for name in PHASES:
        method = getattr(trainer, name)

        def tagged(batches, _method=method, _name=name):
            current["phase"] = _name
            return _method(batches)
        setattr(trainer, name, tagged)
    trainer._update = recording_update
    try:
        for _ in range(steps):
            trainer.train_step()
            trainer.step_count += 1
    finally:
        trainer._update = update
        for name in PHASES:
            delattr(trainer, name)
    return seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="full")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phase-optimizers", action="store_true")
    ap.add_argument("--name", default="phase_gradients")
    args = ap.parse_args()
    cfg = get_config("classroom", model__variant=args.model, train__seed=args.seed,
                     train__label_fraction=args.fraction, train__steps=args.steps,
                     train__phase_optimizers=args.phase_optimizers)
    data = prepare_data(cfg, fold=args.fold, progress=False, data_dir=data_dir())
    torch.manual_seed(args.seed)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    trainer = Trainer(model, data.streams, config=cfg, device="cpu", progress=False)
    seen = encoder_gradients(trainer, args.steps)
    command = " ".join(["OMP_NUM_THREADS=1 python benchmarks/phase_gradients.py",
                        *sys.argv[1:]])
    sup = np.asarray(seen["supervised_phase"])
    lines = [f"# Encoder gradient per training phase: {args.name}", "",
             f"Command: `{command}` (classroom preset, `{args.model}`, label fraction "
             f"{args.fraction}, fold {args.fold}, seed {args.seed}, {args.steps} steps).", "",
             "Root mean square of the gradient each phase sends to the encoder's parameters "
             "(after the phase's loss weight), averaged over steps.", "",
             "| phase | steps 1-10 | last 10 steps | ratio to the supervised phase (all steps, "
             "median) |", "|---|---|---|---|"]
    for name, values in seen.items():
        v = np.asarray(values)
        lines.append(f"| {name.removesuffix('_phase')} | {v[:10].mean():.2e} | "
                     f"{v[-10:].mean():.2e} | {np.median(v / sup[:len(v)]):.3f} |")
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.json", json.dumps(
        {"command": command, "rms": seen}, indent=1))
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
