"""Exercises of ``tutorials/03_autoencoder.ipynb``: the masked reconstruction loss, the
decoder's shapes and reading a linear probe."""

from __future__ import annotations

from .. import measured
from ._core import Incorrect, call_learner, exercise, expect_mapping, expect_number, expect_type
from ._grading import grading_mode


def _recon_cases():
    """(recon, target, mask) triples: no padding, padding with huge values, one empty row."""
    import torch

    g = torch.Generator().manual_seed(3)
    cases = []
    # 1. two channels, every frame valid
    x = torch.randn(3, 2, 5, 7, generator=g)
    cases.append((torch.randn(3, 2, 5, 7, generator=g), x, torch.ones(3, 7, dtype=torch.bool)))
    # 2. padded frames at the end of short utterances hold garbage that must not count
    x = torch.randn(4, 1, 6, 9, generator=g)
    r = torch.randn(4, 1, 6, 9, generator=g)
    mask = torch.ones(4, 9, dtype=torch.bool)
    mask[0, 5:] = False
    mask[2, 2:] = False
    mask[3, 8:] = False
    r = torch.where(mask[:, None, None, :], r, torch.full_like(r, 50.0))
    cases.append((r, x, mask))
    # 3. a wholly padded segment among valid ones
    x = torch.randn(2, 1, 4, 6, generator=g)
    r = torch.randn(2, 1, 4, 6, generator=g)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1] = False
    cases.append((r, x, mask))
    return cases


@exercise(
    "03.masked_mse",
    title="Implement the masked reconstruction loss",
    hint="Broadcast the (B, T) mask to (B, C, n_mels, T) with mask[:, None, None, :], sum the "
         "squared errors of valid entries only, and divide by the number of valid entries "
         "(C * n_mels * valid frames), not by the number of frames.",
    solution='''
import torch

def masked_mse(recon, target, mask):
    valid = mask.bool()[:, None, None, :].expand_as(recon)     # (B, C, n_mels, T)
    error = torch.where(valid, recon - target, 0.0)           # padded frames -> 0 (even NaN)
    return (error ** 2).sum() / valid.sum().clamp(min=1)
''')
def _masked_mse(answer):
    # deferred: torch, only when this check runs (grading start-up)
    from ..losses import reconstruction_loss

    for k, (recon, target, mask) in enumerate(_recon_cases(), start=1):
        out = call_learner(answer, recon.clone(), target.clone(), mask.clone(),
                           what="masked_mse")
        got = expect_number(out, what=f"masked_mse on test batch {k}")
        expected = float(reconstruction_loss(recon, target, mask))
        if abs(got - expected) <= 1e-5 * max(1.0, abs(expected)):
            continue
        plain = float(((recon - target) ** 2).mean())
        n_frames = float(mask.sum())
        sq = ((recon - target) ** 2) * mask[:, None, None, :]
        shape = f"recon {tuple(recon.shape)}, mask {tuple(mask.shape)} with " \
                f"{int(mask.sum())} of {mask.numel()} frames valid"
        if abs(got - plain) < 1e-5 * max(1.0, abs(plain)):
            raise Incorrect(f"Test batch {k} ({shape}): you returned {got:.5f}, the plain mean "
                            f"over every frame. Padded frames must count neither in the sum nor "
                            f"in the count; expected {expected:.5f}.")
        if abs(got - float(sq.sum() / n_frames)) < 1e-5 * max(1.0, got):
            raise Incorrect(f"Test batch {k} ({shape}): you returned {got:.5f}: you divided by "
                            f"the number of valid frames, but each frame holds C x n_mels "
                            f"values. Divide by the number of valid entries; expected "
                            f"{expected:.5f}.")
        if abs(got - float(sq.sum() / sq.numel())) < 1e-5 * max(1.0, got):
            raise Incorrect(f"Test batch {k} ({shape}): you returned {got:.5f}: the masked "
                            f"sum is right but you divided by all entries, padding included. "
                            f"Divide by the number of valid entries; expected {expected:.5f}.")
        if mask.all():
            raise Incorrect(f"Test batch {k} ({shape}, no padding): you returned {got:.5f}, "
                            f"expected the mean squared error {expected:.5f}.")
        raise Incorrect(f"Test batch {k} ({shape}): you returned {got:.5f}; "
                        f"sertutor.losses.reconstruction_loss gives {expected:.5f}.")
    return "Your loss matches sertutor.losses.reconstruction_loss on all three test batches."


@exercise(
    "03.decoder_frames",
    title="Frames the decoder produces before its crop",
    hint="Each of the 3 encoder blocks halves the time axis rounding up (ceil_mode=True); each "
         "of the 3 decoder up blocks doubles it again.",
    solution='''
n = 100
for _ in range(3):
    n = (n + 1) // 2          # 100 -> 50 -> 25 -> 13   (sertutor.models.pooled_size(100, 3))
answer_frames = n * 2 ** 3    # 13 -> 26 -> 52 -> 104; the decoder crops 104 back to 100
''')
def _decoder_frames(answer):
    value = expect_number(answer, what="the number of frames", integer=True)
    if value == 104:
        return ("100 -> 50 -> 25 -> 13 frames in the encoder, 13 -> 104 in the decoder, cropped "
                "to 100: the output always has the input's shape.")
    if value == 100:
        raise Incorrect("100 is what comes out after the crop; the question is how many frames "
                        "the up blocks produce before it.")
    if value == 96:
        raise Incorrect("You rounded down (100 -> 50 -> 25 -> 12): the pools use "
                        "ceil_mode=True, so an odd 25 becomes 13, not 12.")
    if value == 13:
        raise Incorrect("13 is the time length of the encoder's last feature map; the decoder "
                        "doubles it three times.")
    raise Incorrect(f"You gave {value}. Halve 100 three times rounding up, then double three "
                    f"times.")


@exercise(
    "03.chance_levels",
    title="Chance levels of the two probes",
    hint="A probe that guesses the most frequent class of a balanced set is right 1 / (number "
         "of classes) of the time; count the speakers and the emotions of the 4-class "
         "utterances of synth-emo.",
    solution='''
from sertutor.data import load_corpus

df = load_corpus("synth-emo")
df = df[df["emotion"] != ""]
answer_chance = {"speaker": 1 / df["speaker"].nunique(),    # 10 speakers -> 0.1
                 "emotion": 1 / df["emotion"].nunique()}    # 4 emotions  -> 0.25
''')
def _chance_levels(answer):
    got = expect_mapping(answer, {"speaker": 0.1, "emotion": 0.25},
                         what="your chance levels", tol=1e-3)
    del got
    return ("A probe accuracy means little without its chance level: 0.5 is twice chance for "
            "emotion but five times chance for speaker.")


def _check_measured(acc: dict[str, float]) -> str:
    """The probe accuracies must be ones this kernel measured with ``linear_probe``
    (:mod:`sertutor.measured`), not numbers typed in. Returns a note for the feedback."""
    seen = measured.values("linear_probe")
    if not seen:
        if grading_mode():
            raise Incorrect("No probe accuracy was measured in this kernel: run the cell that "
                            "calls linear_probe, then answer with the numbers it printed.")
        return ("(No linear_probe ran in this kernel, so these numbers could not be compared "
                "with a measurement; a graded notebook needs the probe cell run first.) ")
    for key, value in acc.items():
        if not measured.matches("linear_probe", value):
            ran = ", ".join(f"{v:.3f}" for v in seen[-4:])
            raise Incorrect(f"Your {key} probe accuracy {value:.3f} is not one that "
                            f"linear_probe measured in this kernel (its latest: {ran}). Give "
                            f"the accuracies your own probe cell printed (rounding to two "
                            f"decimals is fine).")
    return ""


@exercise(
    "03.captures_more",
    title="What does the unsupervised latent hold more of, relative to chance?",
    hint="Divide each probe accuracy by its own chance level (1/10 for 10 speakers, 1/4 for 4 "
         "emotions) and compare these lifts, not the raw accuracies.",
    solution='''
# probe = {"speaker": ..., "emotion": ...}: the probe accuracies measured above
lift = {"speaker": probe["speaker"] / (1 / 10), "emotion": probe["emotion"] / (1 / 4)}
answer_captures = {**probe, "captures": max(lift, key=lift.get)}
''')
def _captures_more(answer):
    expect_type(answer, dict, what="your answer (a dict with 'speaker', 'emotion', 'captures')")
    missing = [k for k in ("speaker", "emotion", "captures") if k not in answer]
    if missing:
        raise Incorrect(f"Your dict lacks {missing}: give the two probe accuracies you measured "
                        f"('speaker', 'emotion') and your conclusion ('captures').")
    acc = {}
    for key in ("speaker", "emotion"):
        acc[key] = expect_number(answer[key], what=f"the {key} probe accuracy")
        if not 0.0 <= acc[key] <= 1.0:
            raise Incorrect(f"The {key} probe accuracy must lie between 0 and 1, got "
                            f"{acc[key]}.")
    note = _check_measured(acc)
    captures = answer["captures"]
    if not isinstance(captures, str) or captures.strip().lower() not in {"speaker", "emotion"}:
        raise Incorrect(f"'captures' must be 'speaker' or 'emotion', got {captures!r}.")
    captures = captures.strip().lower()
    lift = {"speaker": acc["speaker"] / 0.1, "emotion": acc["emotion"] / 0.25}
    expected = max(lift, key=lift.get)
    shown = (f"speaker {acc['speaker']:.2f} / 0.10 = {lift['speaker']:.1f}x chance, emotion "
             f"{acc['emotion']:.2f} / 0.25 = {lift['emotion']:.1f}x chance")
    if captures != expected:
        raw = max(acc, key=acc.get)
        why = (" You compared the raw accuracies; compare each with its own chance level."
               if captures == raw else "")
        raise Incorrect(f"With your numbers ({shown}) the latent holds more {expected} "
                        f"information than {captures} information.{why}")
    if expected == "speaker":
        return note + (
            f"{shown}. Nothing in the reconstruction loss asks for emotion: the code keeps "
            f"whatever explains most of the spectrogram, and the speaker's voice "
            f"(vocal-tract length, F0, voice quality) explains a lot. The adversarial "
            f"priors (notebook 04) and the emotion labels (05) push emotion into y.")
    return note + (
        f"{shown}. In this run emotion came out ahead: arousal moves loudness, F0 and "
        f"tempo, which a reconstruction must also explain. Try a few more training steps or "
        f"another seed and see whether it holds.")
