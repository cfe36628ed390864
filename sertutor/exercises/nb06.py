"""Exercises of ``tutorials/06_multitask.ipynb``: the concordance correlation coefficient and
the weighted multi-task loss."""

from __future__ import annotations

from ..config import TrainConfig
from ._core import Incorrect, call_learner, exercise, expect_number


def _ccc_cases():
    """(pred, target) pairs: a good fit, a shifted copy, a rescaled copy, anti-correlated."""
    import numpy as np

    rng = np.random.default_rng(6)
    target = rng.uniform(1, 5, size=40)
    return [
        (target + rng.normal(0, 0.4, size=40), target),  # close, some noise
        (target + 1.0, target),  # perfectly correlated but shifted
        (3.0 + 0.3 * (target - 3.0), target),  # perfectly correlated but shrunk
        (6.0 - target, target),  # reversed
        (rng.uniform(1, 5, size=25), rng.uniform(1, 5, size=25)),  # unrelated
    ]


def _ccc(pred, target, ddof=0):
    import numpy as np

    x, y = np.asarray(pred, float), np.asarray(target, float)
    vx, vy = x.var(ddof=ddof), y.var(ddof=ddof)
    cov = ((x - x.mean()) * (y - y.mean())).sum() / (len(x) - ddof)
    return 2 * cov / (vx + vy + (x.mean() - y.mean()) ** 2)


@exercise(
    "06.ccc",
    title="Implement the concordance correlation coefficient",
    hint="rho_c = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2), with the 1/n "
         "(population) variance and covariance.",
    solution='''
import numpy as np

def ccc(pred, target):
    x, y = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()                   # 1/n, like np.var's default
    return 2 * cov / (x.var() + y.var() + (mx - my) ** 2)
''')
def _ccc_check(answer):
    import numpy as np

    for k, (pred, target) in enumerate(_ccc_cases(), start=1):
        out = call_learner(answer, pred.copy(), target.copy(), what="ccc")
        got = expect_number(out, what=f"ccc on test {k}")
        expected = _ccc(pred, target)
        if abs(got - expected) <= 1e-6:
            continue
        if abs(got - _ccc(pred, target, ddof=1)) <= 1e-6:
            raise Incorrect(f"Test {k} ({len(pred)} pairs): you returned {got:.4f}, which uses "
                            f"the n-1 sample variance and covariance. The task (and Lin's CCC, "
                            f"sertutor.evaluate.concordance_cc, notebook 07) uses 1/n: "
                            f"np.var's default, and .mean() for the covariance, not np.cov. "
                            f"Expected {expected:.4f}. The two differ because the squared "
                            f"mean difference in the denominator is not rescaled by n/(n-1).")
        r = float(np.corrcoef(pred, target)[0, 1])
        kind = {2: "shifted by +1", 3: "shrunk towards the middle", 4: "reversed"}.get(k, "")
        if abs(got - r) <= 1e-6:
            raise Incorrect(f"Test {k} (predictions {kind or 'noisy'}): you returned {got:.4f}, "
                            f"Pearson's r. CCC also punishes a shift or a scale error: the "
                            f"denominator adds var(x) + var(y) + (mean(x) - mean(y))^2 instead "
                            f"of sd(x) sd(y). Expected {expected:.4f}.")
        raise Incorrect(f"Test {k} ({kind + ' ' if kind else ''}{len(pred)} pairs): you "
                        f"returned {got:.4f}; expected {expected:.4f} "
                        f"(sertutor.evaluate.concordance_cc).")
    return ("Matches sertutor.evaluate.concordance_cc: a shifted copy of the ratings has r = 1 "
            "but a lower CCC.")


_LOSS_CASES = (
    {"emotion": 1.2, "speaker": 4.5, "gender": 0.6, "dimensional": 2.1},
    {"emotion": 0.3, "speaker": 2.0, "gender": 0.05, "dimensional": 1.4},
)


@exercise(
    "06.multitask_loss",
    title="Combine the supervised losses with their weights",
    hint="Multiply each loss by its weight in the TrainConfig (w_emotion, w_speaker, w_gender, "
         "w_dimensional) and add them up.",
    solution='''
def multitask_loss(losses, weights):
    return (weights.w_emotion * losses["emotion"]
            + weights.w_speaker * losses["speaker"]
            + weights.w_gender * losses["gender"]
            + weights.w_dimensional * losses["dimensional"])
''')
def _multitask_loss(answer):
    configs = (TrainConfig(), TrainConfig(w_emotion=2.0, w_speaker=0.1, w_gender=0.5,
                                          w_dimensional=0.0))
    keys = ("emotion", "speaker", "gender", "dimensional")
    for losses in _LOSS_CASES:
        for weights in configs:
            out = call_learner(answer, dict(losses), weights, what="multitask_loss")
            got = expect_number(out, what="multitask_loss")
            w = {k: getattr(weights, f"w_{k}") for k in keys}
            expected = sum(w[k] * losses[k] for k in keys)
            if abs(got - expected) <= 1e-6 * max(1.0, abs(expected)):
                continue
            where = (f"losses {losses} with weights " +
                     ", ".join(f"w_{k}={w[k]}" for k in keys))
            if abs(got - sum(losses.values())) <= 1e-6:
                raise Incorrect(f"For {where}: you returned {got:.4f}, the unweighted sum. "
                                f"Each task has its weight in the config; expected "
                                f"{expected:.4f}.")
            for k in keys:
                if abs(got - (expected - w[k] * losses[k])) <= 1e-6 and w[k] * losses[k]:
                    raise Incorrect(f"For {where}: you returned {got:.4f}, which leaves out "
                                    f"the {k} loss; expected {expected:.4f}.")
            raise Incorrect(f"For {where}: you returned {got:.4f}; expected {expected:.4f}.")
    return ("This is the supervised phase's total in Trainer.train_step (mtl and full). The "
            "weights decide how much the shared encoder h bends towards each task.")
