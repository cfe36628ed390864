"""How fast are log-mel features: batched torchaudio vs librosa one utterance at a time.

Runs on the classroom emotion corpus (``synth-emo``, preset ``classroom``) when
:mod:`sertutor.data.synth` is available, else on random-length stand-in utterances of the same
count and length range (the content does not change the speed). Writes
``benchmarks/results/features_speed.md``.

    python benchmarks/features_speed.py [--threads 1,2] [--repeats 3] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sertutor.config import get_config
from sertutor.data.dataset import extract_features
from sertutor.data.manifest import make_manifest
from sertutor.features import log_mel_librosa

ROOT = Path(__file__).resolve().parent.parent


def corpus(preset: str = "classroom"):
    """The manifest to time, and a sentence saying what it is."""
    try:
        from sertutor.data.synth import generate_corpus

        m = generate_corpus("synth-emo", preset=preset)  # audio in memory: no decoding timed
        return m, f"the classroom corpus, `generate_corpus(\"synth-emo\", preset=\"{preset}\")`"
    except Exception as exc:  # not written yet, or failing: a stand-in of the same size
        s = get_config(preset).synth
        n = s.emo_speakers * (4 * s.emo_utts_per_emotion + 4 * s.emo_utts_per_extended)
        rng = np.random.default_rng(s.seed)
        rows = []
        for i in range(n):
            samples = int(rng.uniform(s.min_duration_s, s.max_duration_s) * 16000)
            t = np.arange(samples) / 16000
            y = 0.3 * np.sin(2 * np.pi * rng.uniform(90, 300) * t) \
                + 0.05 * rng.standard_normal(samples)
            rows.append(dict(utt_id=f"u{i:04d}", audio=y.astype(np.float32), corpus="standin",
                             speaker=f"s{i % s.emo_speakers}"))
        why = type(exc).__name__ + (f": {exc}" if str(exc) else "")
        return make_manifest(rows), (
            f"a stand-in: {n} random-length utterances ({s.min_duration_s}-"
            f"{s.max_duration_s} s, uniform), the utterance count and length range of the "
            f"classroom `synth-emo` corpus, because `sertutor.data.synth.load_synth` was not "
            f"usable ({why})")


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated torch CPU thread counts to time (each at most 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best is kept)")
    parser.add_argument("--preset", default="classroom")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "features_speed.md")
    args = parser.parse_args(argv)
    threads = [min(int(t), 2) for t in args.threads.split(",")]
    torch.set_num_threads(1)
    cfg = get_config(args.preset).features
    manifest, source = corpus(args.preset)
    waves = list(manifest["audio"])
    audio_s = sum(len(w) for w in waves) / cfg.sample_rate
    print(f"{len(waves)} utterances, {audio_s:.0f} s of audio; source: {source}")

    rows = []

    def record(name, seconds, note=""):
        rows.append((name, seconds, audio_s / seconds, note))
        print(f"{name:58s} {seconds:8.3f} s  {audio_s / seconds:8.0f} x realtime")

    record("librosa, one utterance at a time (`log_mel_librosa`)",
           best_of(lambda: [log_mel_librosa(w, config=cfg) for w in waves], args.repeats))
    with tempfile.TemporaryDirectory() as tmp:
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            for bs in (1, 32):
                record(f"torchaudio CPU, {n_threads} thread(s), `extract_features(batch_size="
                       f"{bs}, cache=False)`",
                       best_of(lambda bs=bs: extract_features(manifest, config=cfg,
                                                              batch_size=bs, cache=False,
                                                              progress=False),
                               args.repeats))
        torch.set_num_threads(threads[0])
        cfg_d = get_config(args.preset, features__deltas=True).features
        record(f"torchaudio CPU, {threads[0]} thread(s), batch 32, with deltas (3 channels)",
               best_of(lambda: extract_features(manifest, config=cfg_d, cache=False,
                                                progress=False), args.repeats))
        start = time.perf_counter()
        extract_features(manifest, config=cfg, cache_dir=tmp, progress=False)
        record("first call with cache: extract + hash + write the cache file",
               time.perf_counter() - start, "one run")
        record("cache hit: `extract_features(cache=True)` (hash + read)",
               best_of(lambda: extract_features(manifest, config=cfg, cache_dir=tmp,
                                                progress=False), args.repeats))
        if torch.cuda.is_available():
            extract_features(manifest, config=cfg, device="cuda", cache=False, progress=False)
            for bs in (32, 128):
                record(f"torchaudio CUDA, `extract_features(batch_size={bs}, cache=False)`",
                       best_of(lambda bs=bs: extract_features(manifest, config=cfg,
                                                              device="cuda", batch_size=bs,
                                                              cache=False, progress=False),
                               args.repeats),
                       "includes host-device copies")

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    lines = [
        "# Log-mel extraction speed",
        "",
        f"Command: `python benchmarks/features_speed.py --threads {args.threads} "
        f"--repeats {args.repeats}`",
        "",
        "librosa runs single-threaded (numpy FFT); torch threads as listed. The machine is "
        "shared with other jobs, so times vary between runs (a 2-thread OpenMP run stalls "
        "when another process holds a core; 1 thread is the robust setting there).",
        "",
        f"- Machine: {cpu}, {os.cpu_count()} logical CPUs visible (shared with other jobs), "
        f"torch threads timed: {threads}, CUDA device: {gpu}",
        f"- Software: Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, librosa {__import__('librosa').__version__}",
        f"- Data: {len(waves)} utterances, {audio_s:.0f} s of 16 kHz audio, from {source}.",
        f"- Features: preset `{args.preset}`: {cfg.n_mels} mels, {cfg.win_ms:g} ms window, "
        f"{cfg.hop_ms:g} ms hop, n_fft {cfg.n_fft}, top_db {cfg.top_db}.",
        f"- Times: best of {args.repeats} runs, audio already in memory (no file decoding).",
        "",
        "| method | seconds | x realtime | note |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| {n} | {s:.3f} | {x:,.0f} | {note} |" for n, s, x, note in rows]
    if not torch.cuda.is_available():
        lines += ["", "No CUDA device was available on this machine, so there is no GPU row."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
