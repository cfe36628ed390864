"""Diagnosis: how large is each training phase's gradient on the shared encoder, and how far
does each of the main optimiser's steps move it?

    OMP_NUM_THREADS=1 python benchmarks/phase_gradients.py [--model full] [--steps 100] \\
        [--fraction 0.1] [--fold 0] [--seed 0] [--phase-optimizers] \\
        [--optimizer-steps per_phase|per_step] [--name phase_gradients]

The trainer updates the encoder three times a step (reconstruction, generator, supervised).
With one shared Adam (the default) the second-moment estimate that divides every update mixes
the three phases' gradients: a phase whose gradients are much smaller than another's takes
steps much smaller than the learning rate. This records, per phase and step, the root mean
square of the gradient that phase sends to the encoder's parameters, after its loss weight,
and the root mean square of the encoder's displacement by each optimiser step: Adam's update
follows its first moment, which the supervised gradients dominate, so a phase with a small
gradient can still move the encoder by about a learning rate. It writes
``benchmarks/results/NAME.json`` and ``.md``.
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


def _encoder_params(trainer: Trainer) -> list[torch.Tensor]:
    return list(trainer.model.encoder.parameters())


def _rms(tensors) -> float:
    return torch.cat([t.flatten() for t in tensors]).float().pow(2).mean().sqrt().item()


def encoder_gradients(trainer: Trainer, steps: int) -> tuple[dict[str, list[float]], ...]:
    """Train ``steps`` steps; per phase and step, the RMS of the gradient it sends to the
    encoder, the RMS of the encoder's displacement by each main-optimiser step, and the
    cosine between that displacement and the same step's supervised one.

    With ``train.optimizer_steps = "per_step"`` a phase's gradient is what it adds to the
    accumulated one, and the one displacement a step is recorded as ``"one step"``.
    """
    grads: dict[str, list[float]] = {}
    moves: dict[str, list[float]] = {}
    cosines: dict[str, list[float]] = {}  # each phase's displacement vs the supervised one's
    last: dict[str, torch.Tensor] = {}
    current = {"phase": ""}
    update, opts = trainer._update, [trainer.opt, *trainer.phase_opts.values()]

    def recording_update(optimizer, loss):
        if optimizer is trainer.opt_disc:  # the encoder's updates only
            return update(optimizer, loss)
        params = _encoder_params(trainer)
        before = [p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                  for p in params] if trainer.joint_step else None
        if not trainer.joint_step:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        added = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        if before is not None:  # per_step: what this phase added to the accumulated gradient
            added = [a - b for a, b in zip(added, before)]
        grads.setdefault(current["phase"], []).append(_rms(added))
        if not trainer.joint_step:
            optimizer.step()

    def recording_step(optimizer, step):
        def wrapped(*args, **kwargs):
            params = _encoder_params(trainer)
            old = [p.detach().clone() for p in params]
            out = step(*args, **kwargs)
            phase = "one step" if trainer.joint_step else current["phase"]
            delta = torch.cat([(p.detach() - o).flatten() for p, o in zip(params, old)])
            moves.setdefault(phase, []).append(_rms([delta]))
            last[phase] = delta
            if phase == "supervised_phase":  # the step's last update: compare the others
                for other, d in last.items():
                    cosines.setdefault(other, []).append(
                        torch.nn.functional.cosine_similarity(d, delta, dim=0).item())
                last.clear()
            return out
        return wrapped

    for name in PHASES:
        method = getattr(trainer, name)

        def tagged(batches, _method=method, _name=name):
            current["phase"] = _name
            return _method(batches)
        setattr(trainer, name, tagged)
    trainer._update = recording_update
    for opt in opts:
        opt.step = recording_step(opt, opt.step)
    try:
        for _ in range(steps):
            trainer.train_step()
            trainer.step_count += 1
    finally:
        del trainer._update  # the class method again
        for name in PHASES:
            delattr(trainer, name)
        for opt in opts:
            del opt.step
    return grads, moves, cosines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="full")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phase-optimizers", action="store_true")
    ap.add_argument("--optimizer-steps", default="per_phase", choices=("per_phase", "per_step"))
    ap.add_argument("--name", default="phase_gradients")
    args = ap.parse_args()
    cfg = get_config("classroom", model__variant=args.model, train__seed=args.seed,
                     train__label_fraction=args.fraction, train__steps=args.steps,
                     train__phase_optimizers=args.phase_optimizers,
                     train__optimizer_steps=args.optimizer_steps)
    data = prepare_data(cfg, fold=args.fold, progress=False, data_dir=data_dir())
    torch.manual_seed(args.seed)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    trainer = Trainer(model, data.streams, config=cfg, device="cpu", progress=False)
    seen, moves, cosines = encoder_gradients(trainer, args.steps)
    command = " ".join(["OMP_NUM_THREADS=1 python benchmarks/phase_gradients.py",
                        *sys.argv[1:]])
    sup = np.asarray(seen["supervised_phase"])
    lines = [f"# Encoder gradient and step per training phase: {args.name}", "",
             f"Command: `{command}` (classroom preset, `{args.model}`, label fraction "
             f"{args.fraction}, fold {args.fold}, seed {args.seed}, {args.steps} steps, "
             f"`train.optimizer_steps = {args.optimizer_steps!r}`).", "",
             "Root mean square of the gradient each phase sends to the encoder's parameters "
             "(after the phase's loss weight), averaged over steps.", "",
             "| phase | steps 1-10 | last 10 steps | ratio to the supervised phase (all steps, "
             "median) |", "|---|---|---|---|"]
    for name, values in seen.items():
        v = np.asarray(values)
        lines.append(f"| {name.removesuffix('_phase')} | {v[:10].mean():.2e} | "
                     f"{v[-10:].mean():.2e} | {np.median(v / sup[:len(v)]):.3f} |")
    lines += ["", "Root mean square of the encoder's displacement by each step of the main "
              f"optimiser, in units of the learning rate ({cfg.train.lr:g}), averaged over "
              "steps: what each update actually moves, gradient and Adam's momentum together.",
              " The last column: the mean cosine between that displacement and the same "
              "training step's supervised one (1: the same direction).", "",
              "| update after | steps 1-10 | last 10 steps | all steps | cosine with the "
              "supervised update |", "|---|---|---|---|---|"]
    for name, values in moves.items():
        v = np.asarray(values) / cfg.train.lr
        cos = f"{np.mean(cosines[name]):.2f}" if name in cosines else "–"
        lines.append(f"| {name.removesuffix('_phase')} | {v[:10].mean():.3f} | "
                     f"{v[-10:].mean():.3f} | {v.mean():.3f} | {cos} |")
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.json", json.dumps(
        {"command": command, "rms": seen, "displacement": moves, "cosine": cosines},
        indent=1))
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
