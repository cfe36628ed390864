"""TrainingDashboard: throttled live updates, curves per panel, collapse hint, a real trainer."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from sertutor.config import get_config
from sertutor.pipeline import build_model
from sertutor.train import Callback, Streams, Trainer
from sertutor.widgets.dashboard import PANELS, TrainingDashboard, trailing_mean

KEYS = [k for keys in PANELS for k in keys]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _logs(step: int, acc: float = 0.6) -> dict[str, float]:
    logs = {k: 1.0 / step + i for i, k in enumerate(KEYS)}
    logs.update(acc_d_z=acc, acc_d_y=0.5)
    return logs


def _trace(dash: TrainingDashboard, name: str):
    return next(t for t in dash.figure.data if t.name == name)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def dash(clock):
    d = TrainingDashboard(min_interval=0.5, smooth=5, clock=clock)
    d.on_train_start(SimpleNamespace(cfg=SimpleNamespace(steps=300), history=[], evals=[]))
    return d


def test_is_a_callback_with_the_widget_api(dash):
    assert isinstance(dash, Callback)
    assert hasattr(dash.widget, "children") and dash.figure in dash.widget.children
    assert isinstance(dash.figure, go.FigureWidget)
    assert dash.message == ""
    with pytest.raises(ValueError, match="min_interval"):
        TrainingDashboard(min_interval=-1)
    with pytest.raises(ValueError, match="smooth"):
        TrainingDashboard(smooth=0)


def test_throttle_many_fast_steps_make_at_most_one_redraw(dash, clock):
    before = dash.n_updates
    for step in range(1, 101):  # 100 steps within 0.1 s
        dash.on_step_end(None, step, _logs(step))
        clock.now += 0.001
    assert dash.n_updates - before <= 1
    assert len(dash.history) == 100  # every step is stored, only drawing is throttled
    drawn = len(_trace(dash, "recon").x)
    assert drawn < 100  # the figure lags behind

    clock.now += 0.5  # enough time has passed: the next step redraws
    dash.on_step_end(None, 101, _logs(101))
    assert dash.n_updates - before <= 2
    assert list(_trace(dash, "recon").x)[-1] == 101

    for step in range(102, 150):  # throttled again
        dash.on_step_end(None, step, _logs(step))
    assert list(_trace(dash, "recon").x)[-1] == 101
    n = dash.n_updates
    dash.on_train_end(None)  # the final state is always drawn
    assert dash.n_updates == n + 1
    recon = _trace(dash, "recon")
    assert list(recon.x)[-1] == 149 and len(recon.x) == 149
    # the newest point is the mean of the last `smooth` values (not biased towards 0)
    last5 = [1.0 / s for s in range(145, 150)]
    assert recon.y[-1] == pytest.approx(np.mean(last5))
    assert "done" in dash.figure.layout.title.text


def test_zero_interval_draws_every_step(clock):
    d = TrainingDashboard(min_interval=0.0, clock=clock)
    before = d.n_updates
    for step in range(1, 6):
        d.on_step_end(None, step, _logs(step))
    assert d.n_updates - before == 5


def test_curves_land_in_their_panels(dash, clock):
    for step in range(1, 31):
        dash.on_step_end(None, step, _logs(step))
    dash.on_eval_end(None, 30, {"uar": 0.42, "wa": 0.5})
    axis = {t.name: t.xaxis for t in dash.figure.data}
    assert axis["recon"] == "x"
    assert {axis[k] for k in ("d_z", "d_y", "generator")} == {"x2"}
    assert {axis[k] for k in ("emotion", "speaker", "gender", "dimensional")} == {"x3"}
    assert {axis[k] for k in ("acc_d_z", "acc_d_y")} == {"x4"}
    assert axis["val UAR"] == axis["val WA"] == "x5"
    uar = _trace(dash, "val UAR")
    assert list(uar.x) == [30] and list(uar.y) == [pytest.approx(0.42)]  # evals draw at once
    assert "val UAR 42.0%" in dash._status.value
    assert len(dash.evals) == 1


def test_long_runs_are_thinned(clock):
    d = TrainingDashboard(min_interval=0.0, max_points=50, clock=clock)
    for step in range(1, 1001):
        d._record(step, {"recon": float(step)})  # store without drawing
    d.on_train_end(None)
    recon = _trace(d, "recon")
    assert len(recon.x) <= 50 and recon.x[0] == 1 and recon.x[-1] == 1000


@pytest.mark.parametrize("acc, expected", [(1.0, "always wins"), (0.0, "always fooled"),
                                           (0.55, "")])
def test_collapse_hint(dash, clock, acc, expected):
    for step in range(1, 25):
        dash.on_step_end(None, step, _logs(step, acc=acc))
    dash.on_train_end(None)
    if expected:
        assert "D_z" in dash.message and expected in dash.message
        assert "D_y" not in dash.message  # D_y sat at 0.5: healthy
        assert expected in dash._message.value
        assert "collapsed" in dash.figure.layout.title.text
    else:
        assert dash.message == "" and dash._message.value == ""


def test_short_runs_never_show_the_hint(dash):
    for step in range(1, 10):  # fewer steps than collapse_window
        dash.on_step_end(None, step, _logs(step, acc=1.0))
    dash.on_train_end(None)
    assert dash.message == ""


def test_static_figure_matches_the_widget(dash):
    for step in range(1, 40):
        dash.on_step_end(None, step, _logs(step))
    dash.on_train_end(None)
    fig = dash.static_figure()
    assert type(fig) is go.Figure
    for live, static in zip(dash.figure.data, fig.data):
        assert live.name == static.name
        np.testing.assert_allclose(np.asarray(live.y, float), np.asarray(static.y, float))


def test_smoothing_slider_redraws(dash):
    for step in range(1, 21):
        dash.on_step_end(None, step, {"recon": float(step % 2)})  # 1, 0, 1, 0, ...
    dash._smooth_slider.value = 1
    assert set(np.round(_trace(dash, "recon").y, 6)) == {0.0, 1.0}  # raw values
    dash._smooth_slider.value = 10
    assert _trace(dash, "recon").y[-1] == pytest.approx(0.5)


def test_trailing_mean():
    np.testing.assert_allclose(trailing_mean(np.array([2.0, 4.0, 6.0, 8.0]), 2),
                               [2.0, 3.0, 5.0, 7.0])


def _random_segments(n: int, cfg, n_speakers: int, seed: int):
    from sertutor.data.dataset import SegmentSet

    g = torch.Generator().manual_seed(seed)
    f = cfg.features
    emotion = torch.arange(n) % cfg.model.n_emotions
    x = torch.randn(n, f.n_channels, f.n_mels, f.segment_frames, generator=g)
    x = x + emotion.view(-1, 1, 1, 1).float()  # (n, C, n_mels, frames), learnable classes
    return SegmentSet(
        x=x, mask=torch.ones(n, f.segment_frames, dtype=torch.bool), utt=torch.arange(n) // 2,
        emotion=emotion, speaker=torch.arange(n) % n_speakers, gender=torch.arange(n) % 2,
        arousal=torch.full((n,), 3.0), valence=torch.full((n,), 3.0),
        arousal_bin=torch.ones(n, dtype=torch.long), valence_bin=torch.ones(n, dtype=torch.long),
        n_utterances=n // 2)


def test_with_a_real_trainer_on_the_tiny_preset():
    cfg = get_config("tiny", train__steps=30, train__eval_every=10, train__batch_size=8)
    seg = _random_segments(48, cfg, n_speakers=4, seed=0)
    streams = Streams(labelled=seg, aux=seg, val=_random_segments(16, cfg, 4, seed=1))
    dash = TrainingDashboard(min_interval=60.0)  # a real clock: throttled for the whole run
    trainer = Trainer(build_model(cfg, n_speakers=4), streams, config=cfg, device="cpu",
                      callbacks=[dash], progress=False).fit()
    assert [h["step"] for h in dash.history] == [h["step"] for h in trainer.history]
    assert dash.evals == trainer.evals and len(dash.evals) == 3
    # train start, three validation passes and the end: nothing for the 30 steps themselves
    assert dash.n_updates <= 1 + 1 + 3 + 1 + 1
    names = {t.name for t in dash.figure.data if len(t.x)}
    assert {"recon", "d_z", "d_y", "generator", "acc_d_z", "acc_d_y", "emotion", "speaker",
            "gender", "val UAR"} <= names
    assert _trace(dash, "recon").x[-1] == 30
    assert dash.seconds_in_callbacks < trainer.train_seconds
