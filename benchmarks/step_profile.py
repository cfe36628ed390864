"""Benchmark: training steps per second and the share of step time spent in device kernels.

For each preset, builds the ``full`` model and its :class:`~sertutor.train.Trainer` over
streams of that preset's segment shape, times ``--steps`` optimiser steps after a warm-up, then
profiles a few more with :mod:`torch.profiler` and reports the share of wall time covered by
device (CUDA) kernels: a low share means the step is bound by Python and kernel launches, not
by the GPU's arithmetic.

The streams hold random normalised log-mel segments with random labels (``--streams random``,
the default): a step's cost depends on the shapes, the batch size and the model, not on the
values, and the ``paper`` corpora take minutes to synthesise. ``--streams real`` trains on the
preset's synthetic corpora instead (generated if missing).

    python benchmarks/step_profile.py --device cuda --presets classroom paper
    python benchmarks/step_profile.py --device cpu --presets tiny --steps 10   # a smoke test

Writes ``benchmarks/results/step_profile_DEVICE.md`` and ``.json`` with the command.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def random_streams(cfg, *, n_segments: int, n_speakers: int, seed: int = 0):
    """Streams of random segments with the shapes and label ranges of ``cfg``."""
    from sertutor.data.dataset import SegmentSet
    from sertutor.train import Streams

    g = torch.Generator().manual_seed(seed)
    c = 3 if cfg.features.deltas else 1
    shape = (n_segments, c, cfg.features.n_mels, cfg.features.segment_frames)

    def segments(*, emotion: bool, speaker: bool) -> SegmentSet:
        n = n_segments
        rand_int = lambda high: torch.randint(high, (n,), generator=g)  # noqa: E731
        return SegmentSet(
            x=torch.randn(shape, generator=g),  # (N, C, n_mels, frames)
            mask=torch.ones(n, shape[-1], dtype=torch.bool),  # (N, frames)
            utt=torch.arange(n) // 4,
            emotion=rand_int(cfg.model.n_emotions) if emotion else torch.full((n,), -1),
            speaker=rand_int(n_speakers) if speaker else torch.full((n,), -1),
            gender=rand_int(2),
            arousal=1 + 4 * torch.rand(n, generator=g) if emotion
            else torch.full((n,), float("nan")),
            valence=1 + 4 * torch.rand(n, generator=g) if emotion
            else torch.full((n,), float("nan")),
            arousal_bin=rand_int(3) if emotion else torch.full((n,), -1),
            valence_bin=rand_int(3) if emotion else torch.full((n,), -1),
            n_utterances=n // 4 + 1)

    return Streams(labelled=segments(emotion=True, speaker=False),
                   unlabelled=segments(emotion=False, speaker=False),
                   aux=segments(emotion=False, speaker=True))


def real_streams(cfg):
    from sertutor.pipeline import prepare_data

    data = prepare_data(cfg, progress=False)
    data.streams.val = None
    return data.streams, len(data.label_maps.speakers)


def measure(preset: str, *, device: str, steps: int, profile_steps: int,
            streams_kind: str, label_fraction: float) -> dict:
    from sertutor.config import get_config
    from sertutor.pipeline import build_model
    from sertutor.train import Trainer, resolve_device

    cfg = get_config(preset, model__variant="full", train__label_fraction=label_fraction)
    if streams_kind == "real":
        streams, n_speakers = real_streams(cfg)
    else:
        n_speakers = cfg.synth.aux_speakers
        streams = random_streams(cfg, n_segments=max(4 * cfg.train.batch_size, 512),
                                 n_speakers=n_speakers)
    dev = resolve_device(device)
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=n_speakers)
    trainer = Trainer(model, streams, config=cfg, device=dev, progress=False)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for _ in range(max(3, steps // 10)):  # warm-up: kernels chosen, caches filled
        trainer.train_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync()
    wall = time.perf_counter() - t0

    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=activities) as prof:
        t1 = time.perf_counter()
        for _ in range(profile_steps):
            trainer.train_step()
        sync()
        prof_wall = time.perf_counter() - t1
    # self device time: each kernel counted once, not again in the op that launched it
    kernel_us = sum(getattr(e, "self_device_time_total", 0.0) for e in prof.key_averages())
    top = sorted(prof.key_averages(), key=lambda e: -(e.device_time_total if dev.type == "cuda"
                                                      else e.self_cpu_time_total))[:5]
    row = {"preset": preset, "device": str(dev), "streams": streams_kind,
           "batch_size": cfg.train.batch_size, "segment": list(streams.labelled.x.shape[1:]),
           "parameters": int(sum(p.numel() for p in model.parameters())),
           "steps": steps, "seconds": round(wall, 3), "steps_per_s": round(steps / wall, 2),
           "ms_per_step": round(1000 * wall / steps, 2),
           "top_ops": [e.key for e in top]}
    if dev.type == "cuda":
        row["kernel_share"] = round(kernel_us / 1e6 / prof_wall, 3)
        row["gpu"] = torch.cuda.get_device_name(dev)
        row["peak_memory_mb"] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--presets", nargs="+", default=["classroom", "paper"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--profile-steps", type=int, default=10)
    parser.add_argument("--streams", choices=["random", "real"], default="random")
    parser.add_argument("--label-fraction", type=float, default=0.1,
                        help="< 1 keeps the unlabelled stream in every step (the costly case)")
    args = parser.parse_args()
    rows = []
    for preset in args.presets:
        row = measure(preset, device=args.device, steps=args.steps,
                      profile_steps=args.profile_steps, streams_kind=args.streams,
                      label_fraction=args.label_fraction)
        print(json.dumps(row), flush=True)
        rows.append(row)
    dev = rows[0]["device"].split(":")[0]
    RESULTS.mkdir(exist_ok=True)
    meta = {"command": "python benchmarks/step_profile.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
            "machine": platform.platform(), "rows": rows}
    (RESULTS / f"step_profile_{dev}.json").write_text(json.dumps(meta, indent=2))
    cols = ["preset", "device", "batch_size", "segment", "parameters", "steps_per_s",
            "ms_per_step", "kernel_share", "peak_memory_mb"]
    lines = [f"# Training step speed ({dev})", "",
             f"Command: `{meta['command']}`, {meta['date']}, torch {torch.__version__}"
             + (f", {rows[0].get('gpu')}" if dev == "cuda" else "") + ".", "",
             "`kernel_share`: device-kernel time / wall time over the profiled steps.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    (RESULTS / f"step_profile_{dev}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
