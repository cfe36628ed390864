"""Exercises of ``tutorials/05_semi_supervised.ipynb``: the stratified label-fraction split and
which losses unlabelled and auxiliary audio feed."""

from __future__ import annotations

import collections.abc

from ._core import Incorrect, call_learner, exercise

# (class sizes, fraction): no class size times fraction ends in .5, so every rounding rule that
# rounds to the nearest integer agrees
_SPLIT_CASES = (
    ({"neutral": 37, "happy": 12, "sad": 4, "angry": 26, "": 10}, 0.1),
    ({"neutral": 37, "happy": 12, "sad": 4, "angry": 26, "": 10}, 0.3),
    ({"neutral": 20, "happy": 20, "sad": 20, "angry": 20}, 1.0),
    ({"neutral": 56, "happy": 56, "sad": 56, "angry": 56, "": 30}, 0.1),
)


def _expected_kept(n: int, fraction: float) -> int:
    return n if fraction >= 1.0 else max(1, round(fraction * n))


def _emotions(sizes: dict[str, int], seed: int):
    import numpy as np

    values = np.array([label for label, n in sizes.items() for _ in range(n)], dtype=object)
    return np.random.default_rng(seed).permutation(values).astype(str)  # shuffled rows


@exercise(
    "05.label_split",
    title="Implement the stratified label-fraction split",
    hint="Loop over the emotion classes; for each, pick round(fraction * n_class) of its rows "
         "(at least 1) at random with a seeded numpy Generator. Rows with no emotion ('') "
         "never keep a label.",
    solution='''
import numpy as np

def label_split(emotions, fraction, seed=0):
    emotions = np.asarray(emotions, dtype=str)
    keep = np.zeros(len(emotions), dtype=bool)
    rng = np.random.default_rng(seed)
    for label in sorted(set(emotions) - {""}):           # every class on its own: stratified
        rows = np.flatnonzero(emotions == label)
        n_keep = len(rows) if fraction >= 1.0 else max(1, int(round(fraction * len(rows))))
        keep[rng.permutation(rows)[:n_keep]] = True
    return keep
''')
def _label_split(answer):
    import numpy as np

    for case, (sizes, fraction) in enumerate(_SPLIT_CASES, start=1):
        emotions = _emotions(sizes, seed=case)
        out = call_learner(answer, emotions.copy(), fraction, seed=0, what="label_split")
        try:
            keep = np.asarray(out)
        except Exception:  # noqa: BLE001
            raise Incorrect(f"label_split returned {type(out).__name__}; return a boolean "
                            f"numpy array with one entry per row.") from None
        if keep.shape != emotions.shape:
            raise Incorrect(f"label_split returned shape {keep.shape} for {len(emotions)} rows; "
                            f"return one boolean per row (a mask), not the kept indices.")
        if keep.dtype != bool:
            raise Incorrect(f"label_split returned dtype {keep.dtype}; return a boolean mask "
                            f"(np.zeros(n, dtype=bool), then set the kept rows to True).")
        sizes_text = ", ".join(f"{k or 'no label'}: {v}" for k, v in sizes.items())
        if keep[emotions == ""].any():
            raise Incorrect(f"Case {case} ({sizes_text}; fraction {fraction}): you kept "
                            f"{int(keep[emotions == ''].sum())} rows that have no emotion "
                            f"label (''). There is no label to keep for them.")
        wrong = []
        floor = ceil = True
        for label, n in sizes.items():
            if not label:
                continue
            got = int(keep[emotions == label].sum())
            exp = _expected_kept(n, fraction)
            if got != exp:
                wrong.append(f"{label}: kept {got} of {n}, expected {exp}")
            floor &= got in (int(fraction * n), max(1, int(fraction * n)))
            ceil &= got == int(np.ceil(fraction * n))
        if wrong:
            total = sum(n for k, n in sizes.items() if k)
            lost = [k for k, n in sizes.items() if k and int(keep[emotions == k].sum()) == 0]
            diffs = [int(keep[emotions == k].sum()) - _expected_kept(n, fraction)
                     for k, n in sizes.items() if k]
            if min(diffs) < 0 < max(diffs):
                why = (" Some classes kept too many labels and others too few: draw within each "
                       "class (stratified), not from all labelled rows at once.")
            elif lost:
                why = (f" Class {lost[0]!r} kept no label at all: keep at least 1 per class, so "
                       f"a rare class is never missing from the labelled set.")
            elif floor:
                why = " You rounded down; round to the nearest integer (and keep at least 1)."
            elif ceil:
                why = " You rounded up; round to the nearest integer."
            else:
                why = ""
            raise Incorrect(f"Case {case} ({sizes_text}; fraction {fraction}, {total} labelled "
                            f"rows): " + "; ".join(wrong) + "." + why)
        again = np.asarray(call_learner(answer, emotions.copy(), fraction, seed=0,
                                        what="label_split"))
        if not np.array_equal(again, keep):
            raise Incorrect("Two calls with the same seed chose different rows. Use "
                            "np.random.default_rng(seed) so a run can be repeated exactly.")
    return ("Same semantics as sertutor.data.dataset.label_subset: every class keeps its share "
            "of labels, even a rare one (at least 1), so the labelled set has the class balance "
            "of the full set.")


_UNLABELLED = {"recon", "d_z", "d_y", "generator"}
_AUX = {"recon", "d_z", "generator", "speaker", "gender"}
_LOSSES = ("recon", "d_z", "d_y", "generator", "emotion", "speaker", "gender")
_WHY = {
    ("unlabelled", "emotion"): "an unlabelled segment has no emotion label to compare with",
    ("unlabelled", "speaker"): "the speaker head is trained on the auxiliary corpus only",
    ("unlabelled", "gender"): "the gender head is trained on the auxiliary corpus only",
    ("unlabelled", "recon"): "every segment is reconstructed, labelled or not",
    ("unlabelled", "d_z"): "its style code z is one of the 'fake' codes D_z learns to reject",
    ("unlabelled", "d_y"): "its emotion code y is one of the codes D_y judges: this is how "
                           "unlabelled speech shapes the emotion classifier",
    ("unlabelled", "generator"): "the encoder learns to make its codes look like prior samples",
    ("aux", "emotion"): "the auxiliary corpus has no emotion labels",
    ("aux", "d_y"): "D_y sees only the emotion corpus's codes: the auxiliary corpus is mostly "
                    "neutral speech, and pushing its y towards a uniform mix of emotions "
                    "would be wrong",
    ("aux", "recon"): "every segment is reconstructed",
    ("aux", "d_z"): "its style code z is judged by D_z like any other",
    ("aux", "generator"): "the encoder learns to make its z look like a prior sample",
    ("aux", "speaker"): "the auxiliary corpus is labelled with speakers",
    ("aux", "gender"): "the auxiliary corpus is labelled with gender",
}


def _as_set(value, key):
    if isinstance(value, str) or not isinstance(value, collections.abc.Iterable):
        raise Incorrect(f"answer[{key!r}] should be a set of loss names such as "
                        f"{{'recon', 'emotion'}}, got {value!r}.")
    names = {str(v).strip().lower() for v in value}
    unknown = names - set(_LOSSES)
    if unknown:
        raise Incorrect(f"answer[{key!r}] holds {sorted(unknown)}, which are not loss names; "
                        f"choose from {list(_LOSSES)}.")
    return names


@exercise(
    "05.which_losses",
    title="Which losses does each kind of segment feed?",
    hint="Walk through the three phases of Trainer.train_step for the full model: "
         "reconstruction (all audio), regularisation (D_z on every code z, D_y on the emotion "
         "corpus's codes y, then the generator), supervised (labels only).",
    solution='''
answer_losses = {
    "unlabelled": {"recon", "d_z", "d_y", "generator"},          # no emotion label
    "aux": {"recon", "d_z", "generator", "speaker", "gender"},   # D_y: emotion corpus only
}
''')
def _which_losses(answer):
    if not isinstance(answer, collections.abc.Mapping):
        raise Incorrect(f"Expected a dict {{'unlabelled': {{...}}, 'aux': {{...}}}}, got "
                        f"{type(answer).__name__}.")
    missing = {"unlabelled", "aux"} - set(answer)
    if missing:
        raise Incorrect(f"Your dict lacks {sorted(missing)}; give a set of losses for both "
                        f"'unlabelled' and 'aux'.")
    problems = []
    for key, expected in (("unlabelled", _UNLABELLED), ("aux", _AUX)):
        got = _as_set(answer[key], key)
        for name in sorted(expected - got, key=_LOSSES.index):
            problems.append(f"{key} segments do feed {name!r}: {_WHY[(key, name)]}")
        for name in sorted(got - expected, key=_LOSSES.index):
            problems.append(f"{key} segments do not feed {name!r}: {_WHY[(key, name)]}")
    if problems:
        raise Incorrect("; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)"
                                                    if len(problems) > 3 else "") + ".")
    return ("Unlabelled and auxiliary audio reach the encoder through reconstruction and the "
            "adversarial game: that is how they help when emotion labels are few.")
