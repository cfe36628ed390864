"""Exercises of ``tutorials/00_welcome_and_data.ipynb``: the corpora and the voice."""

from __future__ import annotations

import functools
import math

from ._core import Incorrect, call_learner, describe, exercise, expect_mapping, expect_number

EMOTIONS = ("neutral", "happy", "sad", "angry")  # the common 4-class set (manifest.EMOTIONS)


@functools.lru_cache(maxsize=4)
def _emo_manifest(preset: str = "classroom"):
    # deferred: exercise checks import only what they use (grading start-up)
    from ..data import load_corpus

    return load_corpus("synth-emo", preset=preset)


def _counts_of(manifest) -> tuple[dict[str, int], int]:
    """The right answer for ``manifest``: rows per 4-class emotion, and rows without one."""
    counts = manifest["emotion"].value_counts()
    return {e: int(counts.get(e, 0)) for e in EMOTIONS}, int((manifest["emotion"] == "").sum())


def _count_cases():
    """(name, manifest) pairs: synth-emo itself, then manifests the notebook never shows (a
    random half of it, and a part with one class left out), so typed-in numbers fail."""
    import numpy as np

    emo = _emo_manifest()
    rng = np.random.default_rng(1234)
    half = emo.iloc[np.sort(rng.choice(len(emo), size=len(emo) // 2, replace=False))]
    no_sad = emo[(emo["emotion"] != "sad") & (rng.random(len(emo)) < 0.7)]
    return [("synth-emo", emo), ("a random half of synth-emo", half.reset_index(drop=True)),
            ("a part of synth-emo without sad", no_sad.reset_index(drop=True))]


@exercise(
    "00.class_counts",
    time_limit=60.0,  # the first check reads the corpus manifest from disk
    title="Utterances per emotion class in a corpus manifest",
    hint="In count_classes, select the rows whose emotion column is not empty, then "
         "value_counts().",
    solution='''
def count_classes(manifest):
    labelled = manifest[manifest["emotion"] != ""]   # rows outside the 4-class set have ""
    return labelled["emotion"].value_counts().to_dict()

emo = load_corpus("synth-emo")
count_classes(emo)
''')
def _class_counts(answer):
    for name, manifest in _count_cases():
        got = call_learner(answer, manifest.copy(), what="count_classes")
        expected, n_unlabelled = _counts_of(manifest)
        _explain_counts(got, expected, n_unlabelled, name)
    expected, n_unlabelled = _counts_of(_emo_manifest())
    return (f"synth-emo: {sum(expected.values())} utterances carry one of the four labels, "
            f"{n_unlabelled} more an extended emotion; your function also counted manifests "
            "the notebook never showed. A balanced, acted corpus like this one is the exception "
            "in SER: real recordings are mostly neutral.")


def _explain_counts(answer, expected: dict[str, int], n_unlabelled: int, name: str) -> None:
    """Raise Incorrect with the likely mistake when ``answer`` is not ``expected`` (a class
    with no row may be left out, as value_counts() does)."""
    what = f"count_classes on {name}"
    if hasattr(answer, "to_dict") and not isinstance(answer, dict):
        answer = answer.to_dict()  # a pandas Series from value_counts() is fine
    if isinstance(answer, dict):
        if "" in answer:
            raise Incorrect(
                f"{what}: your dict has the key '' ({answer['']} utterances): these rows carry "
                f"an emotion outside the 4-class set (fear, disgust, surprise, calm; see the "
                f"emotion_extended column), so their 'emotion' is empty. Keep only the rows "
                f"with emotion != ''.")
        extended = sorted(k for k in answer if k in ("fear", "disgust", "surprise", "calm"))
        if extended:
            raise Incorrect(
                f"{what}: your dict has extended labels {extended}: count the 'emotion' column "
                f"(the 4-class set {list(EMOTIONS)}), not 'emotion_extended'.")
        total = sum(v for v in answer.values() if isinstance(v, (int, float)))
        if set(answer) == set(EMOTIONS) and n_unlabelled and \
                total == sum(expected.values()) + n_unlabelled:
            raise Incorrect(f"{what}: your counts add up to every utterance, including the "
                            f"{n_unlabelled} with an extended emotion; count only the rows "
                            "whose 'emotion' is one of the four classes.")
        # a class with no row: value_counts() leaves it out, a 0 is fine too
        answer = {**{e: 0 for e, n in expected.items() if n == 0}, **answer}
    expect_mapping(answer, expected, what=f"the counts per emotion from {what}")


def _semitone_target() -> float:
    return 200.0 * 2.0 ** (4.5 / 12.0)


@exercise(
    "00.semitones",
    title="From semitones to hertz",
    hint="One semitone multiplies the frequency by 2 ** (1 / 12); an octave (12) doubles it.",
    solution='''
answer_hz = 200 * 2 ** (4.5 / 12)    # about 259.5 Hz
''')
def _semitones(answer):
    value = expect_number(answer, what="the F0 in Hz")
    target = _semitone_target()
    if math.isclose(value, 200 * (1 + 4.5 / 12), rel_tol=1e-3):
        raise Incorrect(f"You gave {value:.1f} Hz: semitones are a logarithmic scale, so 4.5 "
                        "semitones multiply F0 by 2 ** (4.5 / 12), they do not add 4.5/12 of it.")
    if math.isclose(value, 200 + 4.5, rel_tol=1e-3) or math.isclose(value, 200 * 4.5, rel_tol=1e-3):
        raise Incorrect(f"You gave {value:.1f} Hz: a semitone is a frequency *ratio* of "
                        "2 ** (1 / 12), not a number of hertz.")
    if math.isclose(value, 4.5 / 12 * 200, rel_tol=1e-3) or value < 200:
        raise Incorrect(f"You gave {value:.1f} Hz, below the neutral 200 Hz: happiness raises "
                        "F0 (+4.5 semitones), so the answer must be above 200 Hz.")
    if not math.isclose(value, target, rel_tol=2e-3):
        raise Incorrect(f"You gave {value:.2f} Hz; expected about {target:.1f} Hz "
                        "(200 Hz x 2 ** (4.5 / 12)).")
    return (f"{target:.1f} Hz: a rise of {target - 200:.0f} Hz for this voice; the same "
            "4.5 semitones add only about 30 Hz to a 120 Hz male voice. That is why F0 is "
            "compared in semitones, or normalised per speaker.")


@exercise(
    "00.highest_f0",
    title="Which emotion raises F0 the most?",
    hint="Synthesise each of the four emotions for one speaker and compare the median of "
         "info['f0'] over voiced frames (f0 > 0).",
    solution='''
import numpy as np
from sertutor.data.voice import synthesize_voice

median_f0 = {}
for emotion in ["neutral", "happy", "sad", "angry"]:
    audio, info = synthesize_voice(emotion=emotion, gender="female", speaker_seed=0, seed=0)
    f0 = info["f0"]
    median_f0[emotion] = float(np.median(f0[f0 > 0]))
answer_emotion = max(median_f0, key=median_f0.get)    # "happy"
''')
def _highest_f0(answer):
    if not isinstance(answer, str):
        raise Incorrect(f"Expected the emotion's name as a string such as 'sad', got "
                        f"{describe(answer)}.")
    name = answer.strip().lower()
    if name in ("fear", "disgust", "surprise", "calm"):
        raise Incorrect(f"'{name}' is an extended emotion; answer with one of the four classes "
                        f"{list(EMOTIONS)}.")
    if name not in EMOTIONS:
        raise Incorrect(f"'{answer}' is not one of the four classes {list(EMOTIONS)}.")
    if name == "angry":
        raise Incorrect("Anger is the loudest (+9 dB) and has the flattest spectral tilt, and "
                        "it does raise F0, but measure again: joy raises F0 more (+4.5 vs "
                        "+3.5 semitones) and widens the F0 range more.")
    if name in ("sad", "neutral"):
        raise Incorrect(f"'{name}' is a low-arousal voice: sadness lowers F0 by about 3 "
                        "semitones and neutral is the reference. High-arousal emotions raise it.")
    return ("Happy: +4.5 semitones and 1.7 times the F0 range. Anger is close in F0 (+3.5) "
            "but differs in effort: loudness and spectral tilt. That overlap is why happy and "
            "angry are often confused.")
