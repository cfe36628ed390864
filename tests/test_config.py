"""Config presets, overrides and JSON round trip."""

import json

import pytest

from sertutor.config import PRESETS, Config, get_config, parse_override


def test_presets_exist_and_grow():
    assert set(PRESETS) == {"tiny", "classroom", "paper"}
    tiny, room, paper = (get_config(n) for n in ("tiny", "classroom", "paper"))
    assert tiny.synth.aux_speakers < room.synth.aux_speakers < paper.synth.aux_speakers
    assert room.synth.aux_speakers >= 100  # the auxiliary corpus is large, like LibriSpeech
    assert tiny.train.steps < room.train.steps < paper.train.steps


def test_get_config_returns_independent_copy():
    cfg = get_config("classroom")
    cfg.train.steps = 1
    assert get_config("classroom").train.steps != 1


def test_overrides_apply_and_typos_fail():
    cfg = get_config("tiny", train__steps=7, model__variant="aae")
    assert cfg.train.steps == 7 and cfg.model.variant == "aae"
    with pytest.raises(ValueError, match="train__stepz"):
        get_config("tiny", train__stepz=7)
    with pytest.raises(ValueError, match="variant"):
        get_config("tiny", model__variant="transformer")
    with pytest.raises(ValueError, match="unknown preset"):
        get_config("huge")


def test_parse_override_reads_each_field_as_its_type():
    cases = {"train.w_speaker=0.6": ("train__w_speaker", 0.6),
             "train.steps = 50": ("train__steps", 50),
             "train.amp=No": ("train__amp", False),
             "train.phase_optimizers=true": ("train__phase_optimizers", True),
             "model.channels=4,8,16": ("model__channels", (4, 8, 16)),
             "features.f_max=none": ("features__f_max", None),
             "features.f_max=4000": ("features__f_max", 4000.0),
             "features.normalise=corpus": ("features__normalise", "corpus")}
    for text, expected in cases.items():
        key, value = parse_override(text)
        assert (key, value) == expected and type(value) is type(expected[1]), text
    cfg = get_config("tiny", **dict(parse_override(t) for t in cases if "steps" not in t))
    assert cfg.model.channels == (4, 8, 16) and cfg.train.amp is False
    for bad, said in (("train.steps=1.5", "takes an integer"), ("train.amp=maybe", "true or false"),
                      ("model.channels=8,x", "comma-separated integers"),
                      ("train.nope=1", "no field 'nope'"), ("trian.steps=1", "unknown section"),
                      ("train.steps", "section.field=value"), ("steps=3", "section.field=value"),
                      ("train.steps=", "section.field=value")):
        with pytest.raises(ValueError, match=said):
            parse_override(bad)
    with pytest.raises(TypeError):
        parse_override(("train.steps", 3))


def test_json_round_trip():
    cfg = get_config("paper")
    back = Config.from_dict(json.loads(cfg.to_json()))
    assert back == cfg
    with pytest.raises(ValueError, match="unknown fields"):
        Config.from_dict({"train": {"stepz": 3}})


def test_feature_sizes_in_samples():
    f = get_config("classroom").features
    assert (f.win_length, f.hop_length, f.sample_rate) == (400, 160, 16000)


def test_a_config_saved_before_issue_14_loads_with_the_behaviour_it_was_trained_with():
    """Checkpoints and run folders written before `normalise` / `pooling` existed were trained
    per corpus with a flattening encoder; today's defaults must not change how they load."""
    from sertutor.config import Config

    saved = get_config("classroom").to_dict()
    del saved["features"]["normalise"], saved["model"]["pooling"], saved["train"]["ema_decay"]
    old = Config.from_dict(saved)
    assert old.features.normalise == "corpus" and old.model.pooling == "flatten"
    assert old.train.ema_decay == 0.0  # trained without a moving average of its weights
    new = Config.from_dict(get_config("classroom").to_dict())
    assert new.features.normalise == "speaker" and new.model.pooling == "stats"
    assert new.train.ema_decay == 0.99
    # a section that is missing altogether is today's default, as before
    assert Config.from_dict({"name": "x"}).model.pooling == "stats"
