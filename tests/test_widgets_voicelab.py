"""VoiceLab: the sliders act on the synthetic voice, the figure and the player follow."""

from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import pytest

from sertutor.widgets.voicelab import RANGES, VoiceLab, voice_cues


@pytest.fixture(scope="module")
def lab():
    return VoiceLab(seed=0, duration_s=1.5)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _f0_trace(lab: VoiceLab) -> np.ndarray:
    y = np.asarray(lab.figure.data[2].y, dtype=float)
    return y[np.isfinite(y)]


def test_a_higher_f0_scale_raises_the_pitch(lab):
    lab.set(emotion="neutral", f0_scale=1.0)
    low_info, low_trace = lab.info["cues"]["f0_median_hz"], np.median(_f0_trace(lab))
    lab.set(f0_scale=1.5)
    high_info, high_trace = lab.info["cues"]["f0_median_hz"], np.median(_f0_trace(lab))
    assert high_info / low_info == pytest.approx(1.5, rel=0.1)
    assert high_trace / low_trace == pytest.approx(1.5, rel=0.1)  # the figure follows
    f0 = lab.info["f0"]
    assert np.median(f0[f0 > 0]) == pytest.approx(high_info)
    assert f"{high_info:.0f} Hz" in lab._readout.value
    lab.set(f0_scale=1.0)


def test_angry_is_louder_faster_and_higher_than_sad(lab):
    lab.set(emotion="angry", intensity=1.0)
    angry = lab.audio.copy(), dict(lab.info["cues"])
    lab.set(emotion="sad")
    sad = lab.audio.copy(), dict(lab.info["cues"])
    assert _rms(angry[0]) > 2 * _rms(sad[0])  # measured ~17 dB apart
    assert angry[1]["rms_dbfs"] > sad[1]["rms_dbfs"] + 6
    assert angry[1]["f0_median_hz"] > sad[1]["f0_median_hz"]
    assert angry[1]["syllables_per_s"] > sad[1]["syllables_per_s"]
    # intensity 0 is the speaker's neutral voice, whatever the emotion
    lab.set(emotion="angry", intensity=0.0)
    flat = _rms(lab.audio)
    lab.set(emotion="sad")
    assert _rms(lab.audio) == pytest.approx(flat, rel=0.05)
    lab.set(emotion="neutral", intensity=1.0)


def test_loudness_and_breathiness_cues(lab):
    lab.set(loudness_db=0.0)
    base = lab.info["cues"]["rms_dbfs"]
    lab.set(loudness_db=-12.0)
    assert lab.info["cues"]["rms_dbfs"] == pytest.approx(base - 12.0, abs=1.5)
    lab.set(loudness_db=0.0, breathiness=0.9)
    assert lab.info["params"]["breathiness"] == pytest.approx(0.9)
    assert lab._breath_on.value and not lab._controls["breathiness"].disabled
    lab.set(breathiness=None)  # back to the speaker's and emotion's own
    assert lab.info["params"]["breathiness"] != pytest.approx(0.9)
    assert lab._controls["breathiness"].disabled


def test_controls_drive_the_synthesis(lab):
    assert all(w.continuous_update is False for name, w in lab._controls.items()
               if name not in ("emotion", "gender"))
    lab.set(rate_scale=1.0)
    slow = lab.info["cues"]["syllables_per_s"]
    t0 = time.perf_counter()
    lab._controls["rate_scale"].value = 1.6  # what moving the slider does
    assert time.perf_counter() - t0 < 1.0  # measured ~0.05 s
    assert lab.settings["rate_scale"] == 1.6
    assert lab.info["cues"]["syllables_per_s"] > 1.3 * slow
    lab._controls["gender"].value = "male"
    assert lab.info["speaker"]["gender"] == "male"
    lab._breath_on.value = True  # the checkbox hands breathiness to the slider
    assert lab.settings["breathiness"] == lab._controls["breathiness"].value
    text = lab.info["text"]
    lab._new_sentence.click()
    assert lab.settings["seed"] == 1 and lab.info["text"] != text
    lab.set(rate_scale=1.0, gender="female", breathiness=None, seed=0)


def test_figure_player_and_static_export(lab):
    lab.set(emotion="happy")
    n = len(lab.audio)
    assert n == round(1.5 * lab.sample_rate) and lab.audio.dtype == np.float32
    wave = lab.figure.data[0]
    assert max(wave.y) == pytest.approx(lab.audio.max()) and min(wave.y) == pytest.approx(
        lab.audio.min())  # the min/max envelope keeps the peaks
    heat = np.asarray(lab.figure.data[1].z)
    assert heat.shape == (64, 1 + n // 160)  # the model's log-mel front end
    assert "happy" in lab.figure.layout.title.text and lab.info["text"] in \
        lab.figure.layout.title.text
    out = lab._audio_out.outputs
    assert len(out) == 1 and "<audio" in out[0]["data"]["text/html"]
    fig = lab.static_figure()
    assert type(fig) is go.Figure and len(fig.data) == 3
    assert lab.figure in lab.widget.children and lab.message == ""


def test_set_renders_once(lab, monkeypatch):
    calls = []
    original = lab._render
    monkeypatch.setattr(lab, "_render", lambda: (calls.append(1), original()))
    lab.set(emotion="fear", intensity=0.5, f0_scale=1.2, speaker=3)
    assert len(calls) == 1
    assert lab._controls["speaker"].value == 3 and lab._controls["f0_scale"].value == 1.2
    lab.set(emotion="neutral", intensity=1.0, f0_scale=1.0, speaker=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"f0_scale": 5.0}, r"f0_scale must be a number in \[0.5, 2\]"),
    ({"loudness_db": -60}, "loudness_db"),
    ({"intensity": float("nan")}, "intensity"),
    ({"speaker": 2.5}, "speaker must be an int"),
    ({"emotion": "bored"}, "emotion must be one of"),
    ({"gender": "other"}, "gender must be one of"),
    ({"seed": -1}, "seed"),
])
def test_out_of_range_values_give_a_message(lab, kwargs, match):
    before = dict(lab.settings)
    with pytest.raises(ValueError, match=match):
        lab.set(**kwargs)
    assert lab.settings == before  # nothing half-applied


def test_unknown_settings_and_constructor_arguments():
    with pytest.raises(TypeError, match="unknown setting"):
        VoiceLab.set(VoiceLab.__new__(VoiceLab), pitch=2)
    with pytest.raises(ValueError, match="duration_s"):
        VoiceLab(duration_s=100)
    with pytest.raises(ValueError, match="seed"):
        VoiceLab(seed=-3)
    assert set(RANGES) >= {"f0_scale", "loudness_db", "breathiness"}


def test_voice_cues_measure_the_signal():
    sr = 16000
    t = np.arange(sr) / sr
    audio = (0.1 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    info = {"f0": np.array([0.0, 100.0, 200.0, 300.0]),
            "segments": [("#", 0.0, 0.5), ("t", 0.5, 0.6), ("a", 0.6, 0.8), ("i", 0.8, 1.0)]}
    cues = voice_cues(audio, info)
    assert cues["f0_median_hz"] == pytest.approx(200.0)  # unvoiced frames (0) ignored
    assert cues["rms_dbfs"] == pytest.approx(20 * np.log10(0.1 / np.sqrt(2)), abs=0.01)
    assert cues["syllables_per_s"] == pytest.approx(2 / 0.5)  # pause excluded


def test_greyed_breathiness_slider_shows_the_breathiness_spoken(lab):
    """Unticked, the slider is disabled and shows the speaker's and emotion's own breathiness,
    the same number as the readout; ticking the box starts from that value."""
    import re

    for emotion in ("sad", "angry"):
        lab.set(emotion=emotion, breathiness=None)
        spoken = lab.info["params"]["breathiness"]
        slider = lab._controls["breathiness"]
        assert slider.disabled and slider.value == pytest.approx(spoken, abs=1e-9)
        readout = float(re.search(r"breathiness (\d\.\d\d)", lab._readout.value).group(1))
        assert readout == pytest.approx(slider.value, abs=0.005)
    lab._breath_on.value = True
    assert lab.settings["breathiness"] == pytest.approx(spoken)
    assert lab.info["params"]["breathiness"] == pytest.approx(spoken)
    lab.set(emotion="neutral", breathiness=None)
