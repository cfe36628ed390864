"""A real-layout test corpus: espeak-ng voices acting emotions, written in RAVDESS's layout.

    python benchmarks/espeak_ravdess.py --out /tmp/espeak-ravdess [--actors 12] [--seed 0]

The method comparison of issue #14 must also hold on a corpus sertutor did not generate with
its own voice. This builds one with a different synthesiser (Debian's ``espeak-ng``:
``apt-get install espeak-ng``), read by sertutor's real RAVDESS loader
(``load_corpus("ravdess:DIR")``), exactly in RAVDESS's published layout::

    Actor_01/03-01-EE-II-SS-RR-01.wav      modality 03 (audio), vocal channel 01 (speech),
    ...                                    emotion EE, intensity II, statement SS,
    Actor_NN/03-01-EE-II-SS-RR-NN.wav      repetition RR, actor NN (odd male, even female)

Each actor is an espeak-ng voice variant (male ``m1``-``m7``, female ``f1``-``f5``) with its own
base pitch, pitch range and speaking rate. Emotions act through SSML ``<prosody>`` on the
correlates the SER literature reports (Scherer 2003; Juslin & Laukka 2003): anger and
happiness raise pitch, pitch range, rate and loudness; sadness lowers them; calm is slow and
flat; fear is high, fast and narrow. Intensity 02 ("strong") doubles the change. Actors act
with their own expressiveness, and every take gets a little random variation, so classes
overlap. Repetition 02 re-draws that variation. The two RAVDESS statements are spoken.

This file is a benchmark tool, not a test: the loader's own tests use tiny generated fixtures.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
#: RAVDESS emotion code -> (pitch %, pitch range %, rate %, volume dB) at normal intensity.
EMOTION_PROSODY = {
    "01": (0, 0, 0, 0.0),          # neutral
    "02": (-5, -30, -12, -2.0),    # calm
    "03": (18, 45, 8, 3.0),        # happy
    "04": (-12, -45, -22, -5.0),   # sad
    "05": (10, 55, 15, 6.0),       # angry
    "06": (28, -15, 20, 1.0),      # fearful
    "07": (-8, 20, -10, 1.0),      # disgust
    "08": (25, 60, 5, 3.0),        # surprised
}
MALE_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]
FEMALE_VARIANTS = ["f1", "f2", "f3", "f4", "f5"]


def ssml(text: str, *, pitch: float, prange: float, rate: float, volume: float) -> str:
    """An SSML utterance with relative prosody (percent changes, volume in dB)."""
    return (f'<speak><prosody pitch="{pitch:+.0f}%" range="{prange:+.0f}%" '
            f'rate="{100 + rate:.0f}%" volume="{volume:+.1f}dB">{text}</prosody></speak>')


def render(path: Path, text: str, *, voice: str, base_pitch: int, speed: int) -> None:
    """espeak-ng -> WAV file (22.05 kHz mono)."""
    subprocess.run(["espeak-ng", "-m", "-v", voice, "-p", str(base_pitch), "-s", str(speed),
                    "-w", str(path), text], check=True, capture_output=True, timeout=60)


def build(out: Path, *, actors: int, seed: int) -> int:
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng not found: apt-get install espeak-ng")
    rng = np.random.default_rng(seed)
    n = 0
    for a in range(1, actors + 1):
        male = a % 2 == 1  # RAVDESS: odd actors are male
        variants = MALE_VARIANTS if male else FEMALE_VARIANTS
        voice = f"en-us+{variants[(a // 2) % len(variants)]}"
        base_pitch = int(np.clip(rng.normal(40 if male else 55, 8), 10, 90))
        speed = int(np.clip(rng.normal(165, 15), 120, 210))
        expressive = float(np.clip(rng.normal(1.0, 0.3), 0.4, 1.6))  # how much this actor acts
        folder = out / f"Actor_{a:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for emo, (p, r, s, v) in EMOTION_PROSODY.items():
            for inten in (("01",) if emo == "01" else ("01", "02")):
                gain = expressive * (2.0 if inten == "02" else 1.0)
                for stmt, text in STATEMENTS.items():
                    for rep in ("01", "02"):
                        jitter = rng.normal(0, [6, 12, 6, 1.5])  # take-to-take variation
                        utter = ssml(text, pitch=p * gain + jitter[0], prange=r * gain + jitter[1],
                                     rate=s * gain + jitter[2], volume=v * gain + jitter[3])
                        name = f"03-01-{emo}-{inten}-{stmt}-{rep}-{a:02d}.wav"
                        render(folder / name, utter, voice=voice, base_pitch=base_pitch,
                               speed=speed)
                        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--actors", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = build(args.out, actors=args.actors, seed=args.seed)
    from sertutor.data import load_corpus

    df = load_corpus(f"ravdess:{args.out}")
    print(f"wrote {n} files; sertutor's RAVDESS loader reads {len(df)} utterances, "
          f"{df['speaker'].nunique()} speakers, 4-class counts "
          f"{df[df['emotion'] != '']['emotion'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
