"""ConfusionMatrix without a browser: scores, the normalisation toggle, side-by-side models, cell
clicks listing exactly that cell's utterances, and input checks naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sertutor.config import get_config
from sertutor.evaluate import classification_metrics
from sertutor.pipeline import build_model, prepare_data
from sertutor.widgets.confusion import ConfusionMatrix
from sertutor.widgets.utterances import collect_utterances

LABELS = ["neutral", "happy", "sad", "angry"]
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
Y_PRED = np.array([0, 1, 1, 1, 1, 2, 0, 2, 2, 1])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return prepare_data(get_config("tiny"), progress=False,
                        data_dir=tmp_path_factory.mktemp("widgets-confusion"))


def _model(data, variant):
    torch.manual_seed(1)
    cfg = get_config("tiny", model__variant=variant)
    return build_model(cfg, n_speakers=len(data.label_maps.speakers)).eval()


def _click(cm, trace_index, true_label, pred_label):
    from plotly.callbacks import Points

    trace = cm.figure.data[trace_index]
    trace._dispatch_on_click(Points(point_inds=[[LABELS.index(true_label),
                                                 LABELS.index(pred_label)]],
                                    xs=[pred_label], ys=[true_label], trace_index=trace_index),
                             None)


def test_counts_recall_uar_wa_match_evaluate():
    cm = ConfusionMatrix(Y_TRUE, Y_PRED, labels=LABELS, name="full")
    ref = classification_metrics(Y_TRUE, Y_PRED, labels=LABELS)
    assert cm.matrices["full"].tolist() == ref["confusion"]
    assert cm.uar == pytest.approx(ref["uar"]) and cm.wa == pytest.approx(ref["wa"])
    (heat,) = cm.static_figure().data
    np.testing.assert_allclose(np.asarray(heat.z)[2], [0.25, 0, 0.75, 0])  # sad row: recall
    assert heat.text[2][2] == "3<br>75%"
    title = cm.static_figure().layout.title.text
    assert f"UAR {ref['uar']:.1%}" in title and f"WA {ref['wa']:.1%}" in title
    # names work as well as indices
    by_name = ConfusionMatrix([LABELS[i] for i in Y_TRUE], [LABELS[i] for i in Y_PRED],
                              labels=LABELS)
    assert (by_name.matrices["model"] == cm.matrices["full"]).all()


def test_normalize_toggle_updates_the_figure_in_place():
    cm = ConfusionMatrix(Y_TRUE, Y_PRED, labels=LABELS)
    fig = cm.figure
    assert fig.layout.coloraxis.cmax == 1
    cm.set(normalize=False)
    assert cm.figure is fig and np.asarray(fig.data[0].z).tolist() == cm.matrices["model"].tolist()
    assert fig.layout.coloraxis.cmax == 3 and cm._toggle.value is False
    cm._toggle.value = True  # the toggle buttons do the same
    assert cm.normalize and np.asarray(fig.data[0].z).max() == 1.0


def test_cell_click_lists_exactly_that_cells_utterances_with_players(data):
    utts = collect_utterances(_model(data, "full"), data)
    cm = ConfusionMatrix(utts.true, utts.pred, labels=utts.labels, utterances=utts,
                         max_players=3)
    counts = cm.matrices["model"]
    t, p = np.unravel_index(np.argmax(counts), counts.shape)  # the fullest cell
    _click(cm, 0, LABELS[t], LABELS[p])
    expected = np.flatnonzero((utts.true == t) & (utts.pred == p))
    assert cm.selection.index.tolist() == expected.tolist() and len(expected) == counts[t, p]
    assert cm.selection["utt_id"].tolist() == utts.manifest["utt_id"][expected].tolist()
    np.testing.assert_allclose(cm.selection["confidence"], utts.y_prob[expected, p])
    (out,) = cm.cell_output.outputs
    page = out["data"]["text/html"]
    assert page.count("<audio") == min(3, len(expected)) and f"{len(expected)} utterance" in page
    assert utts.manifest["utt_id"][expected[0]] in page
    empty = np.argwhere(counts == 0)
    if len(empty):  # an empty cell says so
        cm.select_cell(int(empty[0][0]), int(empty[0][1]))
        assert cm.selection.empty and "No utterance in the cell" in cm.message


def test_two_models_side_by_side_from_model(data):
    full, base = _model(data, "full"), _model(data, "baseline")
    utts = collect_utterances(full, data)
    cm = ConfusionMatrix.from_model(full, utts, compare={"baseline": base})
    assert list(cm.predictions) == ["full", "baseline"]
    np.testing.assert_array_equal(cm.predictions["baseline"],
                                  utts.probabilities(base).argmax(1))
    fig = cm.figure
    assert [t.name for t in fig.data] == ["full", "baseline"]
    titles = [a.text for a in fig.layout.annotations]
    assert titles[1] == (f"baseline: UAR {cm.scores['baseline']['uar']:.1%} · "
                         f"WA {cm.scores['baseline']['wa']:.1%}")
    _click(cm, 1, "sad", "angry")  # a click on the right panel lists the baseline's cell
    pred = cm.predictions["baseline"]
    assert cm.selection.index.tolist() == np.flatnonzero((cm.y_true == 2) & (pred == 3)).tolist()


def test_inputs_are_checked_with_the_argument_named():
    with pytest.raises(ValueError, match="y_true and y_pred differ in length: 10 vs 9"):
        ConfusionMatrix(Y_TRUE, Y_PRED[:9], labels=LABELS)
    with pytest.raises(ValueError, match=r"y_pred holds labels \['bored'\]"):
        ConfusionMatrix(["sad"], ["bored"], labels=LABELS)
    with pytest.raises(ValueError, match="y_true holds class indices \\[4\\]"):
        ConfusionMatrix([4], [0], labels=LABELS)
    with pytest.raises(ValueError, match="compare\\['b'\\]"):
        ConfusionMatrix(Y_TRUE, Y_PRED, labels=LABELS, compare={"b": Y_PRED[:3]})
    with pytest.raises(ValueError, match="utterances has 2 rows"):
        import pandas as pd

        ConfusionMatrix(Y_TRUE, Y_PRED, labels=LABELS, utterances=pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(ValueError, match="confusion must be a \\(4, 4\\)"):
        ConfusionMatrix.from_confusion([[1, 2], [3, 4]], labels=LABELS)
    cm = ConfusionMatrix(Y_TRUE, Y_PRED, labels=LABELS)
    with pytest.raises(ValueError, match="true_label must be one of"):
        cm.select_cell("calm", "sad")
    with pytest.raises(ValueError, match="model must be one of"):
        cm.select_cell("sad", "sad", model="other")


def test_single_class_and_empty_give_messages_not_tracebacks():
    one = ConfusionMatrix(["sad"] * 4, ["sad", "sad", "angry", "sad"], labels=LABELS)
    assert "Only one true class ('sad')" in one.message and one.uar == pytest.approx(0.75)
    empty = ConfusionMatrix([], [], labels=LABELS)
    assert "No utterances to score" in empty.message and np.isnan(empty.uar)
    assert empty.static_figure().data[0].type == "heatmap"
    table = empty.select_cell("sad", "sad")
    assert table.empty and "No utterance in the cell" in empty.message
    w = one.widget  # the app assembles and shows the message
    assert "Only one true class" in one._message_html.value and one.figure in w.children
    no_utts = ConfusionMatrix(Y_TRUE, Y_PRED, labels=LABELS).select_cell("sad", "sad")
    assert no_utts.index.tolist() == [5, 7, 8]


def test_from_confusion_reproduces_a_stored_matrix():
    import plotly.graph_objects as go

    stored = classification_metrics(Y_TRUE, Y_PRED, labels=LABELS)["confusion"]
    cm = ConfusionMatrix.from_confusion(stored, labels=LABELS, name="full")
    assert cm.matrices["full"].tolist() == stored and cm.uar == pytest.approx(
        classification_metrics(Y_TRUE, Y_PRED, labels=LABELS)["uar"])
    fig = cm.static_figure()
    assert type(fig) is go.Figure and "<script src=\"http" not in fig.to_html()


def test_pretrained_model_on_a_corpus_spec_scores_well_above_chance():
    from sertutor import pretrained

    model, config, meta = pretrained.load("classroom")
    cm = ConfusionMatrix.from_model(model, "synth-emo", config=config, meta=meta,
                                    max_utterances=120)
    assert cm.name == "full" and 60 <= len(cm.y_true) < 120  # the 4-class rows of the sample
    assert cm.uar > 0.45  # training statistics from meta: far above chance (0.25)
