"""How fast is the synthetic voice? Seconds of audio rendered per second of one CPU core.

Measures, single-threaded (OMP/MKL/OpenBLAS threads = 1, set before numpy loads):

1. ``synthesize_voice`` on 3 s utterances (dry voice, clean recording);
2. ``generate_corpus`` for each classroom corpus, in memory (voice + recording chain);
3. ``write_corpus`` of all three classroom corpora into a fresh temporary folder (adds the
   16-bit WAV files and the manifests: what ``sertutor synth --preset classroom`` does);
4. where the time goes inside one utterance (cProfile, cumulative).

Writes ``benchmarks/results/synth_speed.md`` and ``synth_speed.json``.

    python benchmarks/synth_speed.py [--preset classroom] [--repeats 3] [--out DIR]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sertutor.data.synth import (CORPORA, corpus_plan, generate_corpus,  # noqa: E402
                                 render_utterance, synthesize_voice, write_corpus)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="classroom")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    rows = []
    res: dict = {"preset": args.preset, "threads": 1}

    # 1. one utterance at a time
    synthesize_voice(duration_s=1.0)  # warm-up (caches, imports)
    n_utt, dur = 20, 3.0

    def voices():
        for i in range(n_utt):
            synthesize_voice(emotion=("neutral", "happy", "sad", "angry")[i % 4],
                             gender=("female", "male")[i % 2], duration_s=dur, seed=i)

    t = best_of(voices, args.repeats)
    rows.append(("`synthesize_voice`, 20 x 3 s utterances", n_utt * dur, t))

    # 2. whole corpora in memory
    total_audio, total_t = 0.0, 0.0
    for name in CORPORA:
        audio_s = {}

        def gen(name=name, audio_s=audio_s):
            df = generate_corpus(name, preset=args.preset)
            audio_s["s"] = sum(a.size for a in df.audio) / 16000

        t = best_of(gen, args.repeats)
        rows.append((f"`generate_corpus(\"{name}\")` in memory, {args.preset}", audio_s["s"], t))
        total_audio += audio_s["s"]
        total_t += t
    rows.append((f"all three corpora in memory, {args.preset}", total_audio, total_t))

    # 3. to disk, as `sertutor synth` does
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        for name in CORPORA:
            write_corpus(name, preset=args.preset, data_dir=tmp, progress=False)
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        for name in CORPORA:
            write_corpus(name, preset=args.preset, data_dir=tmp, progress=False)
        t_reuse = time.perf_counter() - t
    rows.append((f"`write_corpus` x 3 to a fresh folder (WAV + manifest), {args.preset}",
                 total_audio, t_write))
    res["write_all_s"] = t_write
    res["reuse_all_s"] = t_reuse

    # 4. profile of one corpus's utterances
    specs = corpus_plan("synth-emo", preset=args.preset)[:60]
    prof = cProfile.Profile()
    prof.enable()
    for spec in specs:
        render_utterance(spec)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    parts = {}
    for (file, _, func), (_, _, _, ct, _) in stats.stats.items():
        if file.endswith(("voice.py", "synth.py")) and func in (
                "plan_utterance", "f0_contour", "glottal_source", "formant_cascade", "render",
                "record", "voice_params", "render_utterance"):
            parts[func] = ct / total

    res["rows"] = [{"what": w, "audio_s": a, "seconds": s, "x_realtime": a / s}
                   for w, a, s in rows]
    res["profile_share"] = parts
    cmd = "python benchmarks/synth_speed.py" + (
        f" --preset {args.preset}" if args.preset != "classroom" else "")
    lines = [
        "# Synthetic voice speed",
        "",
        f"Command: `{cmd}`",
        "",
        "Single-threaded (OMP / MKL / OpenBLAS threads = 1; numpy and scipy only, no torch). "
        f"Best of {args.repeats} runs for rows 1-5; the write row is one run (it includes "
        "16-bit WAV files written atomically with fsync, and the manifests). The machine is "
        "shared with other jobs, so times vary by some 20 % between runs.",
        "",
        f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
        "CPUs visible (shared)",
        f"- Software: Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}",
        "",
        "| what | audio (s) | seconds | x realtime |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {w} | {a:,.0f} | {s:.2f} | {a / s:,.0f} |" for w, a, s in rows]
    lines += [
        "",
        f"A second `write_corpus` call for the three corpora (nothing to do: fingerprint, "
        f"manifest and WAV files present) took {t_reuse:.2f} s.",
        "",
        "Share of rendering time (cumulative, cProfile, 60 synth-emo utterances; profiling "
        "slows everything down): "
        + ", ".join(f"`{k}` {100 * v:.0f} %" for k, v in sorted(parts.items(),
                                                                key=lambda kv: -kv[1]))
        + ". `formant_cascade` is one `lfilter` call per 5 ms block; `record` holds the "
        "microphone filter, the room convolution and the noise.",
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "synth_speed.md").write_text("\n".join(lines))
    (args.out / "synth_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
