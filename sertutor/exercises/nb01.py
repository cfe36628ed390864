"""Exercises of ``tutorials/01_features.ipynb``: frames, decibels, normalisation."""

from __future__ import annotations

from ._core import Incorrect, call_learner, exercise, expect_array, expect_number

SAMPLE_RATE = 16000
HOP = 160  # 10 ms at 16 kHz
WIN = 400  # 25 ms at 16 kHz


@exercise(
    "01.n_frames",
    title="Frames of a 2.5-second utterance",
    hint="With center=True the signal is padded by n_fft // 2 on both sides, so frame t is "
         "centred on sample t * hop_length and there is one frame more than full hops.",
    solution='''
n_samples = int(2.5 * 16000)             # 40000 samples
hop = 160                                # 10 ms at 16 kHz
answer_frames = 1 + n_samples // hop     # 251 (sertutor.features.n_frames(n_samples))
''')
def _n_frames(answer):
    value = expect_number(answer, what="the number of frames", integer=True)
    n = int(2.5 * SAMPLE_RATE)
    expected = 1 + n // HOP
    if value == n // HOP:
        raise Incorrect(f"You gave {value}: that counts full hops, but the centred STFT also "
                        f"has a frame at sample 0, so there is one more.")
    if value == 1 + (n - WIN) // HOP or value == 1 + (n - 512) // HOP:
        raise Incorrect(f"You gave {value}: that is the count without centring (frames only "
                        f"where the whole window fits). sertutor uses center=True.")
    if value == n:
        raise Incorrect("That is the number of samples; a frame advances by hop_length = 160.")
    if value != expected:
        raise Incorrect(f"You gave {value}; expected {expected} = 1 + 40000 // 160.")
    return f"{expected} frames, one every 10 ms (sertutor.features.n_frames agrees)."


def _reference_db(power, top_db):
    import numpy as np

    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return db


_DB_CASES = None


def _db_cases():
    import numpy as np

    global _DB_CASES
    if _DB_CASES is None:
        rng = np.random.default_rng(1)
        _DB_CASES = [
            (np.array([[1.0, 10.0, 100.0], [0.1, 0.01, 1e-3]]), 80.0),
            (np.array([[1.0, 1e-12, 0.0, 1e-4]]), None),  # floor at 1e-10 -> -100 dB
            ((rng.random((8, 20)) ** 6) * 3.0, 30.0),  # the top_db clip matters here
            (np.array([[4.0, 1e-9, 2.0]]), 80.0),  # max 6.02 dB: the clip is relative
        ]
    return _DB_CASES


@exercise(
    "01.power_to_db",
    title="Implement power -> decibels with a top_db clip",
    hint="10 * log10 of the power floored at 1e-10, then clip from below at (max - top_db); "
         "np.maximum does both the floor and the clip.",
    solution='''
import numpy as np

def power_to_db(power, top_db=80.0):
    db = 10.0 * np.log10(np.maximum(power, 1e-10))   # floor: log10(0) would be -inf
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)       # keep top_db dB below the loudest bin
    return db
''')
def _power_to_db(answer):
    import numpy as np

    for power, top_db in _db_cases():
        out = call_learner(answer, power.copy(), top_db=top_db, what="power_to_db")
        expected = _reference_db(power, top_db)
        try:
            got = np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out,
                             dtype=float)
        except (TypeError, ValueError):
            raise Incorrect(f"power_to_db returned {type(out).__name__}; return an array of "
                            "decibels with the same shape as the input.") from None
        if got.shape == expected.shape and np.any(np.isneginf(got)):
            raise Incorrect("Your output contains -inf: log10(0) is -infinity. Floor the power "
                            "at 1e-10 (np.maximum(power, 1e-10)) before taking the log.")
        if got.shape == expected.shape and np.allclose(got, 20 * np.log10(
                np.maximum(power, 1e-10)), atol=1e-4) and not np.allclose(got, expected):
            raise Incorrect("You used 20 * log10: that is for magnitudes (amplitude). For a "
                            "power spectrogram, dB = 10 * log10(power).")
        unclipped = 10.0 * np.log10(np.maximum(power, 1e-10))
        if top_db is not None and got.shape == expected.shape and np.allclose(
                got, unclipped, atol=1e-4) and not np.allclose(unclipped, expected):
            raise Incorrect(f"With top_db={top_db} values more than {top_db} dB below the "
                            "maximum must be raised to max - top_db; your output is not clipped.")
        if top_db is not None and got.shape == expected.shape and np.allclose(
                got, np.maximum(unclipped, -top_db), atol=1e-4) \
                and not np.allclose(got, expected, atol=1e-4):
            raise Incorrect("You clipped at -top_db; the clip is relative to the loudest "
                            "bin: max(db) - top_db.")
        expect_array(got, expected, what=f"power_to_db(power, top_db={top_db})", atol=1e-4,
                     rtol=1e-5)
    return "Same numbers as librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=...)."


@exercise(
    "01.normalise",
    title="Normalise features with per-band mean and standard deviation",
    hint="mean and std have shape (C, n_mels); the features (C, n_mels, T): add a trailing "
         "axis (mean[..., None]) so they broadcast over time.",
    solution='''
def normalise(x, mean, std):
    return (x - mean[..., None]) / std[..., None]     # (C, n_mels, T)
''')
def _normalise(answer):
    import numpy as np

    rng = np.random.default_rng(3)
    x = rng.normal(-40.0, 12.0, size=(1, 5, 7))
    mean = rng.normal(-40.0, 5.0, size=(1, 5))
    std = rng.uniform(2.0, 9.0, size=(1, 5))
    out = call_learner(answer, x.copy(), mean.copy(), std.copy(), what="normalise")
    expected = (x - mean[..., None]) / std[..., None]
    try:
        got = np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out,
                         dtype=float)
    except (TypeError, ValueError):
        raise Incorrect(f"normalise returned {type(out).__name__}; return an array.") from None
    if got.shape == expected.shape and np.allclose(got, (x - mean[..., None]), atol=1e-5):
        raise Incorrect("You subtracted the mean but did not divide by the standard deviation.")
    if got.shape == expected.shape and np.allclose(got, (x - x.mean()) / x.std(), atol=1e-5):
        raise Incorrect("You used the mean and std of this one array; use the corpus "
                        "statistics you were given (mean, std per mel band), so every "
                        "utterance is normalised the same way.")
    expect_array(got, expected, what="normalise(x, mean, std)",
                 hint="Per mel band: (x - mean[..., None]) / std[..., None].")
    return "This is what NormStats.apply does (with std floored at 1e-4)."
