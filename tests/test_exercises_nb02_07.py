"""The exercise checkers of notebooks 02-07: right answers pass, wrong ones fail with a message
that says what is wrong; the solution texts themselves are right answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sertutor import measured
from sertutor.exercises import check, list_exercises, solution

#: The probe accuracies the tests answer 03.captures_more with, "measured" in this process.
PROBED = (0.3, 0.45, 0.15, 0.6)


@pytest.fixture(autouse=True)
def _probe_measurements():
    """03.captures_more accepts only accuracies this kernel measured (sertutor.measured)."""
    measured.clear()
    for value in PROBED:
        measured.note("linear_probe", value)
    yield
    measured.clear()

NAMES = {
    "02.uar_from_confusion", "02.chance_uar", "02.most_confused",
    "03.masked_mse", "03.decoder_frames", "03.chance_levels", "03.captures_more",
    "04.discriminator_loss", "04.generator_loss", "04.collapse",
    "05.label_split", "05.which_losses",
    "06.ccc", "06.multitask_loss",
    "07.ablation_gain", "07.ccc_shift",
}

# the variable each solution defines (functions: their name)
SOLUTION_ANSWER = {
    "02.uar_from_confusion": "uar_from_confusion", "02.chance_uar": "answer_chance",
    "02.most_confused": "answer_confused", "03.masked_mse": "masked_mse",
    "03.decoder_frames": "answer_frames", "03.chance_levels": "answer_chance",
    "03.captures_more": "answer_captures", "04.discriminator_loss": "discriminator_loss",
    "04.generator_loss": "generator_loss", "04.collapse": "answer_collapse",
    "05.label_split": "label_split", "05.which_losses": "answer_losses", "06.ccc": "ccc",
    "06.multitask_loss": "multitask_loss", "07.ablation_gain": "gain",
    "07.ccc_shift": "answer_ccc",
}


def assert_passes(name, answer):
    result = check(name, answer)
    assert result.passed, f"{name}: a right answer failed: {result.message}"
    assert result  # truthy
    return result


def assert_fails(name, answer, *fragments):
    result = check(name, answer)
    assert not result.passed and not result.pending, f"{name}: a wrong answer passed"
    assert result.message.strip(), f"{name}: a wrong answer gave no explanation"
    for fragment in fragments:
        assert fragment.lower() in result.message.lower(), \
            f"{name}: expected {fragment!r} in the message, got: {result.message}"
    assert "Traceback" not in result.message
    return result


def test_all_registered():
    names = {n for n, _ in list_exercises()}
    assert NAMES <= names
    assert set(SOLUTION_ANSWER) == NAMES


@pytest.mark.parametrize("name", sorted(NAMES))
def test_placeholder_is_pending(name):
    result = check(name, None)
    assert result.pending and not result.passed


@pytest.mark.parametrize("name", sorted(NAMES))
def test_solution_text_is_a_right_answer(name):
    from sertutor.data import load_corpus

    namespace = {"np": np, "torch": torch, "load_corpus": load_corpus,
                 "probe": {"speaker": 0.3, "emotion": 0.45}}
    exec(compile(solution(name), f"<solution {name}>", "exec"), namespace)  # noqa: S102
    assert_passes(name, namespace[SOLUTION_ANSWER[name]])


# ---- 02 ---------------------------------------------------------------------------------------

def test_02_uar_from_confusion():
    def right(cm):
        cm = np.asarray(cm, float)
        s = cm.sum(1)
        return float((np.diag(cm)[s > 0] / s[s > 0]).mean())

    assert_passes("02.uar_from_confusion", right)
    assert_fails("02.uar_from_confusion", lambda cm: np.trace(cm) / np.sum(cm), "weighted accuracy")
    assert_fails("02.uar_from_confusion",
                 lambda cm: float(np.mean(np.diag(cm) / np.asarray(cm).sum(0))), "precision")
    assert_fails("02.uar_from_confusion",
                 lambda cm: float(np.mean(np.diag(cm) / np.asarray(cm).sum(1))), "all-zero row")
    assert_fails("02.uar_from_confusion", 0.5, "function")
    assert_fails("02.uar_from_confusion", lambda cm: cm["x"], "raised")


def test_02_chance_uar():
    assert_passes("02.chance_uar", {"wa": 0.8, "uar": 0.25})
    assert_fails("02.chance_uar", {"wa": 0.25, "uar": 0.8}, "swapped")
    assert_fails("02.chance_uar", {"wa": 0.8, "uar": 0.8}, "UAR")
    assert_fails("02.chance_uar", {"wa": 0.8}, "uar")
    assert_fails("02.chance_uar", 0.25, "dict")


def test_02_most_confused():
    assert_passes("02.most_confused", ("angry", "happy"))
    assert_passes("02.most_confused", ["Angry ", "happy"])
    assert_fails("02.most_confused", ("happy", "angry"), "direction")
    assert_fails("02.most_confused", ("sad", "sad"), "diagonal")
    assert_fails("02.most_confused", ("neutral", "happy"), "larger")
    assert_fails("02.most_confused", ("fear", "happy"), "not one of")
    assert_fails("02.most_confused", "angry", "pair")


# ---- 03 ---------------------------------------------------------------------------------------

def test_03_masked_mse():
    def right(recon, target, mask):
        valid = mask[:, None, None, :].expand_as(recon)
        return (torch.where(valid, recon - target, 0.0) ** 2).sum() / valid.sum().clamp(min=1)

    assert_passes("03.masked_mse", right)
    assert_fails("03.masked_mse", lambda r, t, m: F.mse_loss(r, t), "plain mean")
    assert_fails("03.masked_mse",
                 lambda r, t, m: (((r - t) ** 2) * m[:, None, None, :]).sum() / m.sum(),
                 "valid frames")
    assert_fails("03.masked_mse",
                 lambda r, t, m: (((r - t) ** 2) * m[:, None, None, :]).mean(), "all entries")
    assert_fails("03.masked_mse", lambda r, t: 0.0, "raised")


def test_03_decoder_frames():
    assert_passes("03.decoder_frames", 104)
    assert_fails("03.decoder_frames", 96, "ceil_mode")
    assert_fails("03.decoder_frames", 100, "crop")
    assert_fails("03.decoder_frames", 13, "doubles")
    assert_fails("03.decoder_frames", "104", "whole number")


def test_03_chance_levels():
    assert_passes("03.chance_levels", {"speaker": 1 / 10, "emotion": 1 / 4})
    assert_fails("03.chance_levels", {"speaker": 0.25, "emotion": 0.1}, "speaker")
    assert_fails("03.chance_levels", {"speaker": 0.1}, "missing")


def test_03_captures_more():
    assert_passes("03.captures_more", {"speaker": 0.3, "emotion": 0.45, "captures": "speaker"})
    assert_passes("03.captures_more", {"speaker": 0.15, "emotion": 0.6, "captures": "emotion"})
    assert_fails("03.captures_more", {"speaker": 0.3, "emotion": 0.45, "captures": "emotion"},
                 "raw accuracies")
    assert_fails("03.captures_more", {"speaker": 1.3, "emotion": 0.45, "captures": "speaker"},
                 "between 0 and 1")
    assert_fails("03.captures_more", {"speaker": 0.3, "emotion": 0.45}, "captures")
    assert_fails("03.captures_more", "speaker", "dict")


def test_03_captures_more_wants_the_numbers_this_kernel_measured(monkeypatch):
    # a number no probe in this kernel measured fails, naming what was measured
    result = assert_fails("03.captures_more",
                          {"speaker": 0.9, "emotion": 0.45, "captures": "speaker"},
                          "not one that linear_probe measured", "0.600")
    assert "0.900" in result.message
    # the real linear_probe notes its accuracy; rounding to two decimals still matches
    from sertutor.evaluate import linear_probe

    measured.clear()
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 10)
    codes = rng.normal(size=(40, 3)) + labels[:, None]
    acc = linear_probe(codes, labels)
    assert measured.values("linear_probe") == (acc,)
    chance_like = linear_probe(rng.normal(size=(40, 3)), labels)
    assert_passes("03.captures_more", {"speaker": round(chance_like, 2),
                                       "emotion": round(acc, 2), "captures": "emotion"})
    # nothing measured: self-study passes with a note, grading mode fails
    measured.clear()
    answer = {"speaker": 0.3, "emotion": 0.45, "captures": "speaker"}
    assert "could not be compared" in assert_passes("03.captures_more", answer).message
    monkeypatch.setenv("SERTUTOR_GRADING", "1")
    monkeypatch.setenv("SERTUTOR_PROGRESS", "0")
    assert_fails("03.captures_more", answer, "No probe accuracy was measured")


def test_measured_keeps_finite_values_and_checks_its_arguments():
    measured.clear()
    assert measured.note("x", 0.5) == 0.5
    measured.note("x", float("nan"))  # not a measurement anyone could match
    assert measured.values("x") == (0.5,)
    assert measured.matches("x", 0.504) and not measured.matches("x", 0.51)
    assert not measured.matches("other kind", 0.5)
    with pytest.raises(ValueError, match="kind"):
        measured.note("", 1.0)
    for k in range(measured.KEEP + 5):
        measured.note("many", k)
    assert len(measured.values("many")) == measured.KEEP
    assert measured.values("many")[-1] == measured.KEEP + 4
    measured.clear("x")
    assert measured.values("x") == () and measured.values("many")


# ---- 04 ---------------------------------------------------------------------------------------

def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def test_04_discriminator_loss():
    assert_passes("04.discriminator_loss", lambda real, fake: _bce(real, 1.0) + _bce(fake, 0.0))
    assert_fails("04.discriminator_loss", lambda real, fake: _bce(real, 0.0) + _bce(fake, 1.0),
                 "swapped")
    assert_fails("04.discriminator_loss",
                 lambda real, fake: F.binary_cross_entropy_with_logits(
                     torch.cat([real, fake]),
                     torch.cat([torch.ones_like(real), torch.zeros_like(fake)])), "mean over all")
    assert_fails("04.discriminator_loss",
                 lambda real, fake: -torch.log(torch.sigmoid(real)).mean()
                 - torch.log(1 - torch.sigmoid(fake)).mean(), "logsigmoid")
    assert_fails("04.discriminator_loss", lambda real, fake: _bce(real, 1.0), "2 log 2")


def test_04_generator_loss():
    assert_passes("04.generator_loss", lambda fake: _bce(fake, 1.0))
    assert_fails("04.generator_loss", lambda fake: -_bce(fake, 0.0), "minimax")
    assert_fails("04.generator_loss", lambda fake: _bce(fake, 0.0), "opposite")
    assert_fails("04.generator_loss", lambda fake: fake.mean(), "generator_loss gives")


def test_04_collapse():
    assert_passes("04.collapse", "b")
    assert_passes("04.collapse", " (B) ")
    assert_fails("04.collapse", "a", "0.5")
    assert_fails("04.collapse", "d", "equilibrium")
    assert_fails("04.collapse", "z", "one letter")


# ---- 05 ---------------------------------------------------------------------------------------

def _split(emotions, fraction, seed=0, *, rounding=round, at_least_one=True, stratified=True):
    emotions = np.asarray(emotions, dtype=str)
    keep = np.zeros(len(emotions), bool)
    rng = np.random.default_rng(seed)
    groups = sorted(set(emotions) - {""}) if stratified else [None]
    for label in groups:
        rows = np.flatnonzero(emotions == label) if stratified else np.flatnonzero(emotions != "")
        n = len(rows) if fraction >= 1 else int(rounding(fraction * len(rows)))
        if at_least_one:
            n = max(1, n)
        keep[rng.permutation(rows)[:n]] = True
    return keep


def test_05_label_split():
    assert_passes("05.label_split", _split)
    assert_fails("05.label_split", lambda e, f, seed=0: _split(e, f, seed, rounding=np.floor),
                 "rounded down")
    assert_fails("05.label_split", lambda e, f, seed=0: _split(e, f, seed, at_least_one=False),
                 "at least 1")
    assert_fails("05.label_split", lambda e, f, seed=0: _split(e, f, seed, stratified=False),
                 "stratified")
    assert_fails("05.label_split", lambda e, f, seed=0: np.flatnonzero(_split(e, f, seed)),
                 "mask")
    assert_fails("05.label_split",
                 lambda e, f, seed=0: _split(e, f, int(np.random.randint(1 << 30))), "same seed")
    assert_fails("05.label_split",
                 lambda e, f, seed=0: np.ones(len(e), bool), "no emotion")


def test_05_which_losses():
    right = {"unlabelled": {"recon", "d_z", "d_y", "generator"},
             "aux": {"recon", "d_z", "generator", "speaker", "gender"}}
    assert_passes("05.which_losses", right)
    assert_passes("05.which_losses", {k: list(v) for k, v in right.items()})
    assert_fails("05.which_losses", {**right, "unlabelled": right["unlabelled"] | {"emotion"}},
                 "no emotion label")
    assert_fails("05.which_losses", {**right, "aux": right["aux"] | {"d_y"}},
                 "mostly neutral")
    assert_fails("05.which_losses", {**right, "unlabelled": {"recon"}}, "d_y")
    assert_fails("05.which_losses", {**right, "aux": {"recon", "speaker", "gender", "d_q"}},
                 "not loss names")
    assert_fails("05.which_losses", {"unlabelled": right["unlabelled"]}, "aux")


# ---- 06 ---------------------------------------------------------------------------------------

def test_06_ccc():
    def right(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return 2 * np.mean((x - x.mean()) * (y - y.mean())) / (
            x.var() + y.var() + (x.mean() - y.mean()) ** 2)

    assert_passes("06.ccc", right)
    from sertutor.evaluate import concordance_cc

    assert_passes("06.ccc", lambda x, y: concordance_cc(x, y))
    # the task asks for 1/n variances, like 07.ccc_shift: n-1 is rejected by both, with a reason
    assert_fails("06.ccc", lambda x, y: 2 * np.cov(x, y)[0, 1] / (
        np.var(x, ddof=1) + np.var(y, ddof=1) + (np.mean(x) - np.mean(y)) ** 2), "n-1", "1/n")
    assert_fails("06.ccc", lambda x, y: np.corrcoef(x, y)[0, 1], "pearson")
    assert_fails("06.ccc", lambda x, y: 1.0 - right(x, y), "expected")


def test_06_multitask_loss():
    def right(losses, w):
        return (w.w_emotion * losses["emotion"] + w.w_speaker * losses["speaker"]
                + w.w_gender * losses["gender"] + w.w_dimensional * losses["dimensional"])

    assert_passes("06.multitask_loss", right)
    assert_passes("06.multitask_loss",
                  lambda losses, w: sum(getattr(w, f"w_{k}") * v for k, v in losses.items()))
    assert_fails("06.multitask_loss", lambda losses, w: sum(losses.values()), "unweighted")
    assert_fails("06.multitask_loss",
                 lambda losses, w: right(losses, w) - w.w_gender * losses["gender"],
                 "leaves out the gender")
    assert_fails("06.multitask_loss", lambda losses: 0.0, "raised")


# ---- 07 ---------------------------------------------------------------------------------------

def _gain(summary, variant, reference="baseline", fraction=0.1, key="uar_mean"):
    def of(name, frac):
        return next(r[key] for r in summary if r["variant"] == name and r["fraction"] == frac)
    return of(variant, fraction) - of(reference, fraction)


def test_07_ablation_gain():
    right = assert_passes("07.ablation_gain", _gain)
    # the feedback names the yardstick notebook 07 teaches, the paired standard error
    assert "paired standard error" in right.message and "compare with uar_std" not in \
        right.message
    assert_fails("07.ablation_gain", lambda s, v, r="baseline", f=0.1: -_gain(s, v, r, f),
                 "sign")
    assert_fails("07.ablation_gain",
                 lambda s, v, r="baseline", f=0.1: _gain(s, v, r, f, key="wa_mean"), "WA")
    assert_fails("07.ablation_gain", lambda s, v, r="baseline", f=0.1: _gain(s, v, r, 0.1),
                 "fraction")


def test_07_ccc_shift():
    assert_passes("07.ccc_shift", 0.8)
    assert_passes("07.ccc_shift", np.float32(0.8))
    assert_fails("07.ccc_shift", 1.0, "pearson")
    assert_fails("07.ccc_shift", 2 * 2.5 / 6, "n-1", "1/n")
    assert_fails("07.ccc_shift", 0.5, "cov")
    assert_fails("07.ccc_shift", "0.8", "number")


def test_06_ccc_and_07_ccc_shift_agree():
    """The same CCC function passes (or fails) both checks: 06.ccc takes the function, 07.ccc_shift
    its value on 07's shifted ratings."""
    ratings = np.array([1.0, 2.0, 3.0, 4.0, 5.0])

    def population(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return 2 * np.mean((x - x.mean()) * (y - y.mean())) / (
            x.var() + y.var() + (x.mean() - y.mean()) ** 2)

    def sample(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return 2 * np.cov(x, y)[0, 1] / (x.var(ddof=1) + y.var(ddof=1)
                                         + (x.mean() - y.mean()) ** 2)

    for fn in (population, sample):
        in_06 = check("06.ccc", fn).passed
        in_07 = check("07.ccc_shift", fn(ratings + 1.0, ratings)).passed
        assert in_06 == in_07, f"{fn.__name__}: 06.ccc says {in_06}, 07.ccc_shift says {in_07}"
    assert check("06.ccc", population) and not check("06.ccc", sample)
