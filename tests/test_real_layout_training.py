"""A corpus in a real published layout trains end to end through the same path as synth-emo.

RAVDESS-named WAV files (spoken by the synthetic voice, so emotions are audible) are the emotion
corpus and the LibriSpeech fixture (FLAC, SPEAKERS.TXT) the auxiliary corpus; ``sertutor train``
reads both by corpus spec, exactly as a user pointing it at their own copies would.
"""

from __future__ import annotations

import json

import pytest
import soundfile as sf

from corpus_fixtures import make_librispeech
from sertutor.cli import main
from sertutor.data.synth import synthesize_voice

RAVDESS_CODES = {"neutral": "01", "happy": "03", "sad": "04", "angry": "05"}


@pytest.fixture(scope="module")
def ravdess_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("real") / "RAVDESS"
    for actor in range(1, 7):  # odd actors male, even female, as in RAVDESS
        gender = "male" if actor % 2 else "female"
        for emotion, code in RAVDESS_CODES.items():
            for statement in ("01", "02"):
                audio, _ = synthesize_voice(emotion=emotion, gender=gender, speaker_seed=actor,
                                            duration_s=1.0, seed=actor * 10 + int(statement))
                intensity = "01" if emotion == "neutral" else "02"
                name = f"03-01-{code}-{intensity}-{statement}-01-{actor:02d}.wav"
                path = root / f"Actor_{actor:02d}" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, audio, 16000, subtype="PCM_16")
    return root


def test_train_and_evaluate_on_real_layouts(ravdess_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SERTUTOR_DATA_DIR", str(tmp_path / "data"))
    libri = make_librispeech(tmp_path / "aux")
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--steps", "8", "--device", "cpu", "--quiet",
                 "--emotion-corpus", f"ravdess:{ravdess_root}",
                 "--aux-corpus", f"librispeech:{libri}", "--out", str(out),
                 "--no-report"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["emotion_test_utterances"] > 0
    assert metrics["cross_corpus"] == {}  # no synth-field default for a real corpus
    assert metrics["labels"] == ["neutral", "happy", "sad", "angry"]
    assert main(["evaluate", str(out / "checkpoint.pt"), "--quiet",
                 "--corpus", f"ravdess:{ravdess_root}"]) == 0
