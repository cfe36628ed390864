"""Exercises of ``tutorials/07_full_model.ipynb``: reading the ablation table and the CCC of a
shifted prediction."""

from __future__ import annotations

from ._core import Incorrect, call_learner, exercise, expect_number


def _summary():
    """A made-up ablation summary in the layout of ``experiments.ablation(...)["summary"]``."""
    rows = []
    table = {  # (variant, fraction): (uar_mean, wa_mean)
        ("baseline", 0.1): (0.46, 0.50), ("full", 0.1): (0.52, 0.49),
        ("aae", 0.1): (0.44, 0.47), ("baseline", 0.3): (0.55, 0.58),
        ("full", 0.3): (0.54, 0.60), ("aae", 0.3): (0.61, 0.63),
        ("baseline", 1.0): (0.60, 0.62), ("full", 1.0): (0.66, 0.61),
    }
    for (variant, fraction), (u, w) in table.items():
        rows.append({"variant": variant, "fraction": fraction, "n": 3, "uar_mean": u,
                     "uar_std": 0.05, "wa_mean": w, "wa_std": 0.05})
    return rows


_GAIN_CASES = (("full", "baseline", 0.1), ("aae", "baseline", 0.3), ("full", "baseline", 1.0),
               ("full", "aae", 0.3))


@exercise(
    "07.ablation_gain",
    title="The gain of one model over another in an ablation table",
    hint="Find the row with the variant and the fraction asked for, and the row of the reference "
         "at the same fraction; subtract their uar_mean values (variant minus reference).",
    solution='''
def gain(summary, variant, reference="baseline", fraction=0.1):
    def uar_of(name):
        rows = [r for r in summary if r["variant"] == name and r["fraction"] == fraction]
        return rows[0]["uar_mean"]
    return uar_of(variant) - uar_of(reference)
''')
def _ablation_gain(answer):
    summary = _summary()
    lookup = {(r["variant"], r["fraction"]): r for r in summary}
    for variant, reference, fraction in _GAIN_CASES:
        out = call_learner(answer, [dict(r) for r in summary], variant, reference,
                           fraction, what="gain")
        got = expect_number(out, what=f"gain({variant!r}, {reference!r}, {fraction})")
        a, b = lookup[(variant, fraction)], lookup[(reference, fraction)]
        expected = a["uar_mean"] - b["uar_mean"]
        if abs(got - expected) <= 1e-9:
            continue
        call = f"gain(summary, {variant!r}, {reference!r}, fraction={fraction})"
        if abs(got + expected) <= 1e-9:
            raise Incorrect(f"{call}: you returned {got:+.3f}; the sign is reversed. The gain "
                            f"is variant minus reference: {expected:+.3f}.")
        if abs(got - (a["wa_mean"] - b["wa_mean"])) <= 1e-9:
            raise Incorrect(f"{call}: you returned {got:+.3f}, the difference in WA. The "
                            f"tables compare UAR (uar_mean): {expected:+.3f}.")
        other = [f for (v, f) in lookup if v == variant and f != fraction
                 and (reference, f) in lookup
                 and abs(got - (lookup[(v, f)]["uar_mean"] - lookup[(reference, f)]["uar_mean"]))
                 <= 1e-9]
        if other:
            raise Incorrect(f"{call}: you returned {got:+.3f}, the gain at label fraction "
                            f"{other[0]}. Use the rows of the fraction asked for: "
                            f"{expected:+.3f}.")
        raise Incorrect(f"{call}: you returned {got:+.3f}; expected {expected:+.3f}.")
    return ("Now read each gain against its yardstick, as in the table below: the paired "
            "standard error, se = sd / sqrt(n) of the per-seed differences (variant minus "
            "reference on the same fold). A gain within about two paired standard errors is "
            "not evidence of an improvement. (uar_std, the spread of one model over seeds, "
            "mostly measures how hard each fold is, so it is the wrong yardstick.)")


@exercise(
    "07.ccc_shift",
    title="CCC of a perfectly correlated but shifted prediction",
    hint="Pearson's r is 1 here. For CCC: var(x) = var(y) = 2 (1/n variances of 1..5), "
         "cov(x, y) = 2, and the means differ by 1.",
    solution='''
ratings = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
pred = ratings + 1.0
answer_ccc = 2 * 2.0 / (2.0 + 2.0 + 1.0 ** 2)          # 0.8
# or: sertutor.evaluate.concordance_cc(pred, ratings)
''')
def _ccc_shift(answer):
    value = expect_number(answer, what="the CCC")
    if abs(value - 0.8) <= 1e-3:
        return ("0.8: one point of bias costs 0.2 of CCC although the predictions rank the "
                "utterances perfectly. This is why CCC, not r, scores arousal and valence.")
    if abs(value - 1.0) <= 1e-3:
        raise Incorrect("1.0 is Pearson's r: the predictions are perfectly correlated. CCC "
                        "also counts the shift (mean(x) - mean(y))^2 in the denominator.")
    if abs(value - 2 * 2.5 / (2.5 + 2.5 + 1.0)) <= 1e-3:
        raise Incorrect("You used the n-1 sample variance (2.5). Lin's CCC uses 1/n: var = 2, "
                        "so CCC = 4 / (2 + 2 + 1).")
    raise Incorrect(f"You gave {value:.4g}. CCC = 2 cov / (var(x) + var(y) + (mean(x) - "
                    f"mean(y))^2) with cov = 2, both variances 2 and a mean difference of 1.")
