"""LatentExplorer and collect_utterances, without a browser: set controls, call click handlers,
check what the figure and the outputs then hold (tiny preset, untrained tiny models)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from sertutor.config import get_config
from sertutor.pipeline import build_model, prepare_data
from sertutor.widgets import latent as latent_module
from sertutor.widgets.latent import LatentExplorer
from sertutor.widgets.utterances import collect_utterances


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("widgets-latent")


@pytest.fixture(scope="module")
def data(data_dir):
    return prepare_data(get_config("tiny"), progress=False, data_dir=data_dir)


def _model(data, variant="full"):
    torch.manual_seed(0)
    cfg = get_config("tiny", model__variant=variant)
    return build_model(cfg, n_speakers=len(data.label_maps.speakers)).eval()


@pytest.fixture(scope="module")
def utts(data):
    return collect_utterances(_model(data), data, parts=("test", "aux"))


@pytest.fixture()
def explorer(utts):
    return LatentExplorer(None, utts, projection="pca")


def test_import_is_lazy():
    code = ("import sys, sertutor.widgets as w; "
            "heavy = [m for m in ('torch', 'plotly', 'ipywidgets', 'umap') if m in sys.modules]; "
            "names = [n for n in ('LatentExplorer', 'ConfusionMatrix', 'TrainingDashboard', "
            "'PriorSampler', 'VoiceLab', 'collect_utterances') if n in w.__all__]; "
            "print(heavy, len(names), w.LatentExplorer.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[] 6 LatentExplorer"


def test_collect_utterances_pools_codes_and_stitches_segments(data, utts):
    test_n, aux_n = len(data.manifests["emotion_test"]), len(data.manifests["aux"])
    assert len(utts) == test_n + aux_n
    assert utts.manifest["part"].tolist() == ["test"] * test_n + ["aux"] * aux_n
    cfg = get_config("tiny")
    assert utts.codes["h"].shape == (len(utts), cfg.model.hidden_dim)
    assert utts.codes["z"].shape == (len(utts), cfg.model.z_dim)
    np.testing.assert_allclose(utts.y_prob.sum(1), 1.0, atol=1e-5)
    # the true class comes from the manifest; auxiliary utterances are unlabelled
    expected = [utts.labels.index(e) if e else -1 for e in utts.manifest["emotion"]]
    assert utts.true.tolist() == expected and (utts.true[test_n:] == -1).all()
    # the stitched log-mel covers every frame of the audio, and its start is segment 0
    i = 3
    wave, sr = utts.audio(i)
    logmel = utts.logmel(i)
    assert sr == 16000 and logmel.shape == (cfg.features.n_mels,
                                            1 + len(wave) // cfg.features.hop_length)
    first = int(np.flatnonzero(utts.segments.utt.numpy() == i)[0])
    n = min(logmel.shape[1], cfg.features.segment_frames)
    np.testing.assert_allclose(logmel[:, :n], utts.segments.x[first, 0, :, :n].numpy(),
                               atol=1e-6)
    assert utts.reconstruction(i).shape == logmel.shape
    # a seeded sample of at most max_utterances per part
    small = collect_utterances(utts.model, data, parts=("test", "aux"), max_utterances=10)
    assert small.manifest["part"].value_counts().to_dict() == {"test": 10, "aux": 10}
    assert set(small.manifest["utt_id"]) <= set(utts.manifest["utt_id"])
    with pytest.raises(ValueError, match="parts: 'train'"):
        collect_utterances(utts.model, data, parts=("train",))


def test_collect_utterances_from_a_spec_uses_the_training_statistics(data, data_dir, utts):
    fc = data.config.features  # the run's normalisation, as a checkpoint's meta records it
    meta = {"specs": {"emotion": "synth-emo"},
            "norm_stats": {"emotion": data.norm_stats["emotion"].to_dict()},
            "normalise": fc.normalise, "speaker_prior_utts": fc.speaker_prior_utts}
    spec = collect_utterances(utts.model, "synth-emo", config=get_config("tiny"), meta=meta,
                              max_utterances=None, data_dir=data_dir)
    assert set(spec.manifest["part"]) == {"synth-emo"} and len(spec) > len(utts)
    ids = spec.manifest["utt_id"].tolist()
    for i in (0, 5):  # held-out utterances look exactly as in the PreparedData
        j = ids.index(utts.manifest["utt_id"][i])
        np.testing.assert_allclose(spec.logmel(j), utts.logmel(i), atol=1e-5)
        np.testing.assert_allclose(spec.codes["h"][j], utts.codes["h"][i], atol=1e-5)
    own = collect_utterances(utts.model, "synth-emo", config=get_config("tiny"),
                             max_utterances=None, data_dir=data_dir)  # no meta: own stats
    assert not np.allclose(own.logmel(ids.index(utts.manifest["utt_id"][0])), utts.logmel(0))


def test_colour_change_recolours_without_reprojecting(explorer, utts, monkeypatch):
    calls, status = [], []
    real = latent_module.embed_2d

    def counting(x, **kw):  # records each projection and what the status line said meanwhile
        calls.append(x.shape)
        status.append(explorer._status_html.value)
        return real(x, **kw)

    monkeypatch.setattr(latent_module, "embed_2d", counting)
    assert explorer._status_html in explorer.widget.children  # the app with its status line
    fig = explorer.figure
    assert [t.name for t in fig.data] == ["neutral", "happy", "sad", "angry", "(unlabelled)"]
    explorer.set(color_by="speaker")
    speakers = sorted(set(utts.manifest["speaker"]))
    assert sorted(t.name for t in fig.data) == speakers and calls == []
    explorer.controls["color_by"].value = "gender"  # the dropdown does the same
    assert [t.name for t in fig.data] == ["female", "male"]
    assert [t.marker.color for t in fig.data] == ["#e377c2", "#17becf"]
    assert explorer.figure is fig and calls == []  # updated in place, nothing reprojected
    explorer.set(color_by="arousal")  # continuous: the colours are the ratings of the points
    shown = np.asarray(fig.data[0].customdata)
    np.testing.assert_allclose(fig.data[0].marker.color,
                               utts.manifest["arousal"].to_numpy()[shown])
    explorer.controls["representation"].value = "z"
    assert calls == [(len(utts), utts.codes["z"].shape[1])] and explorer.n_projections == 2
    assert status[0].startswith("⏳ projecting") and "PCA of z" in explorer.status
    explorer.set(representation="h")  # back to a projection already made: cached
    assert len(calls) == 1 and "cached" in explorer.status


def test_click_plays_audio_and_shows_logmel_reconstruction_probabilities(explorer, utts):
    from plotly.callbacks import Points

    trace = explorer.figure.data[1]  # the happy points
    i = int(trace.customdata[2])
    trace._dispatch_on_click(Points(point_inds=[2], xs=[trace.x[2]], ys=[trace.y[2]],
                                    trace_index=1), None)
    sel = explorer.selected
    assert sel["index"] == i and sel["emotion"] == "happy" == utts.manifest["emotion"][i]
    assert sel["utt_id"] == utts.manifest["utt_id"][i] and explorer.message == ""
    heat, recon, bars = explorer.detail_figure.data
    assert (heat.type, recon.type, bars.type) == ("heatmap", "heatmap", "bar")
    np.testing.assert_allclose(np.asarray(heat.z), utts.logmel(i), atol=1e-6)
    np.testing.assert_allclose(bars.y, utts.y_prob[i])
    assert sel["probabilities"] == pytest.approx(dict(zip(utts.labels, utts.y_prob[i])))
    (out,) = explorer.player.outputs
    assert "<audio" in out["data"]["text/html"]
    with pytest.raises(IndexError, match="i must be"):
        explorer.select(len(utts))


def test_subset_filter_and_empty_selection_give_messages(explorer, utts):
    explorer.set(subset={"emotion": ["happy", "sad"]})
    assert set(utts.manifest["emotion"][explorer.rows]) == {"happy", "sad"}
    assert sum(len(t.x) for t in explorer.figure.data) == len(explorer.rows)
    assert explorer.controls["subset_values"].value == ("happy", "sad")
    c = explorer.controls  # the subset controls, as a user clicks them
    c["subset_by"].value = "gender"
    c["subset_values"].value = ("female",)
    c["apply"].click()
    assert explorer.subset == {"gender": ("female",)}
    assert set(utts.manifest["gender"][explorer.rows]) == {"female"}
    explorer.set(subset={"speaker": "nobody"})
    assert "No utterance matches" in explorer.message and len(explorer.figure.data) == 0
    explorer.set(subset={"emotion": "happy", "speaker": utts.manifest["speaker"][0]})
    assert explorer.message == "Only one emotion class ('happy') among these utterances."
    assert "at least 3" in LatentExplorer(None, utts.subset([0, 1]), projection="pca").message
    explorer.set(subset=None, color_by="emotion")
    assert explorer.message == "" and len(explorer.rows) == len(utts)
    with pytest.raises(ValueError, match="subset: unknown field 'mood'"):
        explorer.set(subset={"mood": "x"})
    with pytest.raises(ValueError, match="color_by must be one of"):
        explorer.set(color_by="pitch")
    with pytest.raises(ValueError, match="projection must be one of"):
        LatentExplorer(None, utts, projection="lda")


def test_baseline_without_decoder_and_corpus_without_speakers(data):
    manifest = data.manifests["emotion_test"].assign(speaker="", gender="")
    ex = LatentExplorer(_model(data, "baseline"), manifest, projection="pca",
                        color_by="speaker", max_utterances=20)
    assert len(ex.utterances) == 20 and ex.utterances.manifest["part"].iloc[0] == "manifest"
    assert "no speaker labels" in ex.message
    assert [t.name for t in ex.figure.data] == ["(unknown)"]
    ex.set(representation="z")
    assert "nothing trains z" in ex.message
    sel = ex.select(0)
    assert sel["reconstruction"] is None and "no decoder" in ex.message
    assert [t.type for t in ex.detail_figure.data] == ["heatmap", "bar"]
    assert "no decoder" in ex.detail_figure.layout.annotations[-1].text


def test_static_figure_has_colour_menu_and_renders_offline(explorer):
    import plotly.graph_objects as go

    fig = explorer.static_figure(color_by=("emotion", "speaker", "arousal"))
    assert type(fig) is go.Figure
    menu = fig.layout.updatemenus[0].buttons
    assert [b.label for b in menu] == ["emotion", "speaker", "arousal"]
    visible = [t.visible for t in fig.data]
    assert visible == list(menu[0].args[0]["visible"])  # emotion shown first
    page = fig.to_html(include_plotlyjs=True, full_html=True)
    assert "<script src=\"http" not in page and "PCA of the shared code h" in page
    w = explorer.widget  # the app assembles without a kernel
    assert explorer.figure in w.children and explorer.player in w.children


def test_a_failing_projection_is_a_message(explorer, utts, monkeypatch):
    def broken(x, **kw):
        raise ValueError("too few neighbours")

    monkeypatch.setattr(latent_module, "embed_2d", broken)
    explorer.set(projection="tsne")
    assert explorer.message == (f"t-SNE failed on {len(utts)} points (ValueError: too few "
                                "neighbours); try PCA.")
    assert len(explorer.rows) == 0 and len(explorer.figure.data) == 0
    explorer.set(projection="pca")  # the cached projection still works
    assert explorer.message == "" and len(explorer.rows) == len(utts)
    with pytest.raises(TypeError, match="model must be a sertutor MultiTaskAAE"):
        LatentExplorer(None, "synth-emo")


def test_many_speakers_are_grouped_in_the_legend(explorer, utts, monkeypatch):
    """Colouring by speaker on a corpus of many speakers keeps the legend readable: at most
    MAX_LEGEND entries, the rest one grey '(N others)' entry, and a note saying so."""
    speakers = sorted(set(utts.manifest["speaker"]))
    assert len(speakers) > 4
    monkeypatch.setattr(latent_module, "MAX_LEGEND", 4)
    explorer.set(color_by="speaker")
    fig = explorer.figure
    names = [t.name for t in fig.data]
    assert len(names) == 4 and names[-1] == f"({len(speakers) - 3} others)", names
    assert fig.data[-1].marker.color == "#c7c7c7"
    assert sum(len(t.x) for t in fig.data) == len(explorer.rows)  # every point still drawn
    assert "others" in explorer.message and "Hover a point" in explorer.message
    explorer.set(color_by="gender")  # few categories: no grouping, no note
    assert [t.name for t in fig.data] == ["female", "male"] and "others" not in explorer.message


def test_untrained_emotion_head_is_labelled_not_shown_as_a_prediction(utts):
    ex = LatentExplorer(None, utts, projection="pca", color_by="emotion",
                        emotion_head_trained=False)
    hover = list(ex.figure.data[0].text)
    assert hover and not any("predicted" in h for h in hover)
    picked = ex.select(int(ex.rows[0]))
    assert "predicted" not in ex.detail_figure.layout.title.text
    titles = [a.text for a in ex.detail_figure.layout.annotations]
    assert "emotion head never trained: ignore" in titles
    assert picked["predicted"]  # still in the returned dict, for code that wants it
    ex.set(color_by="predicted")
    assert "never trained" in ex.message
    trained = LatentExplorer(None, utts, projection="pca", color_by="predicted")
    assert "never trained" not in trained.message
    assert any("predicted" in h for h in trained.figure.data[0].text)
