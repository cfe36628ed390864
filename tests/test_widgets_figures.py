"""The spectrogram grid of notebook 00 §4: every panel's title names the data it shows."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

pytest.importorskip("plotly")

from sertutor.widgets.figures import spectrogram_grid_figure  # noqa: E402


def _panel_titles(spec: dict) -> dict[int, str]:
    """Trace index -> the text of the annotation that sits above that trace's axes.

    Works on the figure as the browser gets it (its JSON), from geometry alone: a subplot
    title is centred over its x axis' domain, just above its y axis' domain.
    """
    layout = spec["layout"]
    titles = {}
    for k, trace in enumerate(spec["data"]):
        xa = layout["xaxis" + trace.get("xaxis", "x")[1:]]["domain"]
        ya = layout["yaxis" + trace.get("yaxis", "y")[1:]]["domain"]
        centre, top = (xa[0] + xa[1]) / 2, ya[1]
        above = [a for a in layout["annotations"]
                 if abs(a["x"] - centre) < 1e-6 and 0 <= a["y"] - top < 0.05]
        assert len(above) == 1, f"trace {k}: {len(above)} titles above its panel"
        titles[k] = above[0]["text"]
    return titles


def _rendered(fig) -> dict:
    return json.loads(fig.to_json())


def _array(value) -> np.ndarray:
    """An array of the figure's JSON: a nested list, or plotly's base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).astype(float)
    return np.asarray(value, dtype=float)


@pytest.mark.parametrize("cols", [1, 2, 3])
def test_each_panel_is_titled_with_its_own_data(cols):
    rng = np.random.default_rng(0)
    # distinct data and distinct lengths per label, keys NOT in alphabetical order
    specs = {e: rng.normal(10 * k, 1.0, size=(8, 20 + 5 * k))
             for k, e in enumerate(["sad", "angry", "neutral", "happy"])}
    spec = _rendered(spectrogram_grid_figure(specs, cols=cols, title="t"))
    titles = _panel_titles(spec)
    assert sorted(titles.values()) == sorted(specs)
    for k, trace in enumerate(spec["data"]):
        z = _array(trace["z"])
        shown = [label for label, a in specs.items()
                 if a.shape == z.shape and np.allclose(a, z)]
        assert shown == [titles[k]], f"panel titled {titles[k]!r} shows {shown}"
        assert trace["name"] == titles[k]


def test_notebook_00_spectrograms_are_titled_by_emotion():
    """The real §4 figure: four emotions of one synthetic speaker, rendered; each title is the
    emotion of the clip it shows, and the acoustic cue the lesson reads holds (angry is louder
    than sad)."""
    from sertutor import get_config
    from sertutor.data import EMOTIONS
    from sertutor.data.voice import synthesize_voice
    from sertutor.features import log_mel

    cfg = get_config("classroom")
    specs = {}
    for e in EMOTIONS:
        audio, _ = synthesize_voice(emotion=e, gender="female", speaker_seed=1, duration_s=1.5,
                                    seed=3)
        specs[e] = log_mel(audio, config=cfg.features)[0][0, 0].numpy()
    spec = _rendered(spectrogram_grid_figure(specs, cols=2))
    titles = _panel_titles(spec)
    loudness = {}
    for k, trace in enumerate(spec["data"]):
        z = _array(trace["z"])
        assert np.allclose(z, specs[titles[k]]), f"panel {titles[k]!r} shows another clip"
        loudness[titles[k]] = float(np.mean(z))
    assert set(loudness) == set(EMOTIONS)
    assert loudness["angry"] > loudness["sad"]


def test_bad_input():
    with pytest.raises(ValueError, match="empty"):
        spectrogram_grid_figure({})
    with pytest.raises(ValueError, match="n_mels, T"):
        spectrogram_grid_figure({"a": np.zeros(5)})


def test_group_rare_categories_caps_the_legend():
    from sertutor.widgets.figures import group_rare_categories, latent_figure

    values = np.asarray([f"spk{k:03d}" for k in range(120) for _ in range(1 + (k < 5))],
                        dtype=object)
    grouped = group_rare_categories(values, 6)
    assert len(set(grouped)) == 6
    kept = sorted(set(grouped) - {"(115 others)"})
    assert kept == [f"spk{k:03d}" for k in range(5)]  # the most frequent keep their name
    assert group_rare_categories(values[:10], 16) is values[:10] or \
        list(group_rare_categories(values[:10], 16)) == list(values[:10])
    fig = latent_figure(np.zeros((len(values), 2)), colour_by={"speaker": values})
    assert len(fig.data) == 16 and fig.data[-1].name == "(105 others)"
    assert sum(len(t.x) for t in fig.data) == len(values)
    assert len(latent_figure(np.zeros((len(values), 2)), colour_by={"speaker": values},
                             max_legend=None).data) == 120


def browser_trace_names(fig) -> list:
    """Follow what the browser holds as trace names of a ``go.FigureWidget``: its initial data,
    then every restyle / update message sent to it (start before the changes)."""
    names = [t.get("name") for t in fig._widget_data]

    def apply(change):
        msg = change["new"]
        if not msg:
            return
        data = msg.get("restyle_data") or msg.get("style_data") or {}
        traces = msg.get("restyle_traces") or msg.get("style_traces") or range(len(names))
        if "name" in data:
            values = data["name"] if isinstance(data["name"], list) else [data["name"]] * len(
                traces)
            for k, v in zip(traces, values):
                names[k] = v if isinstance(v, (str, type(None))) else None  # undefined: lost

    fig.observe(apply, names=["_py2js_restyle", "_py2js_update"])
    return names


def test_sync_figure_keeps_every_trace_name_in_the_browser():
    import plotly.graph_objects as go

    from sertutor.widgets.figures import sync_figure

    target = go.FigureWidget(data=[go.Scatter(x=[0], y=[0], name=n) for n in "abc"])
    names = browser_trace_names(target)
    # only the middle trace is renamed: plotly alone would send the others as undefined
    sync_figure(target, go.Figure(data=[go.Scatter(x=[1], y=[1], name=n) for n in "aBc"]))
    assert names == ["a", "B", "c"]
