"""Issue 15, smaller items and #10: log_mel refuses soundfile's (samples, channels) layout;
ConfusionMatrix infers its labels like sklearn; a ConfusionMatrix of a model on its own training
corpus says that it includes the training speakers."""

import numpy as np
import pandas as pd
import pytest
import torch

from sertutor.config import get_config
from sertutor.features import log_mel
from sertutor.pipeline import build_model
from sertutor.widgets.confusion import ConfusionMatrix, _training_overlap

LABELS = ["neutral", "happy", "sad", "angry"]

# ------------------------------------------------------------------ log_mel input layout


@pytest.mark.parametrize("make", [lambda: np.zeros((16000, 2), np.float32),
                                  lambda: torch.zeros(16000, 2),
                                  lambda: np.zeros((48000, 6), np.float32)])
def test_log_mel_refuses_samples_by_channels(make):
    x = make()
    with pytest.raises(ValueError, match=r"looks like \(samples, channels\).*mean\(axis=1\)"):
        log_mel(x)


def test_log_mel_still_takes_mono_and_batches():
    feats, n = log_mel(np.zeros(16000, np.float32))
    assert feats.shape[0] == 1 and n.tolist() == [101]
    feats, n = log_mel(np.zeros((2, 16000), np.float32))  # (B, N): a batch of two
    assert feats.shape[0] == 2
    stereo = np.random.default_rng(0).standard_normal((16000, 2)).astype(np.float32) * 0.1
    a, _ = log_mel(stereo.mean(axis=1))  # what the message says to do
    assert a.shape[0] == 1


# ------------------------------------------------------------------ labels inferred


def test_confusion_matrix_without_labels_infers_them_in_emotion_order():
    y_true = ["sad", "angry", "neutral", "happy", "sad"]
    y_pred = ["sad", "happy", "neutral", "happy", "angry"]
    cm = ConfusionMatrix(y_true, y_pred)
    assert cm.labels == tuple(LABELS)  # the corpus's order, not sorted ('angry' first)
    ref = ConfusionMatrix(y_true, y_pred, labels=LABELS)
    assert (cm.matrices["model"] == ref.matrices["model"]).all() and cm.uar == ref.uar


def test_inferred_labels_other_cases():
    assert ConfusionMatrix(["sad", "calm"], ["calm", "sad"]).labels == ("sad", "calm")
    assert ConfusionMatrix(["b", "a"], ["a", "c"]).labels == ("a", "b", "c")  # sorted, sklearn
    assert ConfusionMatrix([0, 3, 1], [2, 0, 1]).labels == tuple(LABELS)  # sertutor's classes
    assert ConfusionMatrix([0, 1, 1], [1, 0, 1]).labels == ("0", "1")
    assert ConfusionMatrix([0, 1], [1, 1], compare={"b": [2, 0]}).labels == ("0", "1", "2")
    with pytest.raises(ValueError, match="pass labels="):
        ConfusionMatrix([], [])


# ------------------------------------------------------------------ #10 optimistic scores


META = {"specs": {"emotion": "synth-emo", "aux": "synth-aux"}}


def test_training_overlap_from_meta_specs():
    assert _training_overlap("synth-emo", META)[0] is True
    assert _training_overlap("synth-emo@tiny", META)[0] is True
    assert _training_overlap("SYNTH-EMO", META)[0] is True
    assert _training_overlap("synth-field", META) == (False, "")
    assert _training_overlap("synth-aux", META) == (False, "")  # no emotion labels used
    real = {"specs": {"emotion": "ravdess:/data/RAVDESS", "aux": None}}
    assert _training_overlap("ravdess:/elsewhere/RAVDESS", real)[0] is True
    frame = pd.DataFrame({"corpus": ["synth-emo", "synth-emo"]})
    assert _training_overlap(frame, META)[0] is True
    known, note = _training_overlap("synth-emo", None)
    assert known is None and "meta=" in note


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_model(get_config("tiny"), n_speakers=2).eval()


def test_from_model_on_a_training_corpus_says_so(tiny_model):
    cm = ConfusionMatrix.from_model(tiny_model, "synth-emo", config=get_config("tiny"),
                                    meta=META, max_utterances=12)
    assert cm.includes_training_speakers is True
    assert "trained on" in cm.message and "optimistic" in cm.message
    assert "includes training speakers" in cm.static_figure().layout.title.text
    cm.select_cell(0, 0)  # the note survives a click
    assert "optimistic" in cm.message


def test_from_model_on_another_corpus_has_no_note(tiny_model):
    cm = ConfusionMatrix.from_model(tiny_model, "synth-field", config=get_config("tiny"),
                                    meta=META, max_utterances=12)
    assert cm.includes_training_speakers is False and "optimistic" not in cm.message
    assert "training speakers" not in cm.static_figure().layout.title.text


def test_an_empty_cell_keeps_the_training_corpus_note(tiny_model):
    cm = ConfusionMatrix.from_model(tiny_model, "synth-emo", config=get_config("tiny"),
                                    meta=META, max_utterances=12)
    pred = cm.predictions[cm.name]
    empty = [(t, p) for t in range(len(cm.labels)) for p in range(len(cm.labels))
             if not ((cm.y_true == t) & (pred == p)).any()]
    assert empty  # 12 utterances cannot fill all 16 cells
    cm.select_cell(*empty[0])
    assert cm.message.startswith("No utterance in the cell") and "optimistic" in cm.message
