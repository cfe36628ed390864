"""Issue 15 #8: config values are validated where a config is made, naming the field."""

import dataclasses
import json

import pytest

from sertutor.cli import main
from sertutor.config import (Config, FeatureConfig, ModelConfig, SynthConfig, TrainConfig,
                             get_config)

BAD_OVERRIDES = [
    ({"train__steps": 0}, r"train\.steps \(--steps\) must be an integer >= 1, got 0"),
    ({"train__steps": -5}, r"train\.steps \(--steps\) must be an integer >= 1, got -5"),
    ({"train__steps": "3"}, r"train\.steps .*got '3' \(str\)"),
    ({"train__steps": 2.5}, r"train\.steps .*got 2\.5 \(float\)"),
    ({"train__steps": True}, r"train\.steps .*got True \(bool\)"),
    ({"train__eval_every": 0}, r"train\.eval_every must be an integer >= 1"),
    ({"train__batch_size": 0}, r"train\.batch_size must be an integer >= 1"),
    ({"train__patience": 0}, r"train\.patience must be an integer >= 1"),
    ({"model__n_emotions": 2}, r"model\.n_emotions must be 4"),
    ({"model__n_emotions": 5}, r"model\.n_emotions must be 4"),
    ({"model__n_bins": 2}, r"model\.n_bins must be 3"),
    ({"train__amp": "no"}, r"train\.amp must be True or False, got 'no'"),
    ({"train__label_fraction": 0.0}, r"train\.label_fraction \(--label-fraction\) .*\(0, 1\]"),
    ({"train__label_fraction": 1.5}, r"train\.label_fraction"),
    ({"train__seed": -1}, r"train\.seed \(--seed\) must be an integer >= 0, got -1"),
    ({"train__lr": -1e-3}, r"train\.lr must be a number >= 0"),
    ({"train__lr": float("nan")}, r"train\.lr must be a number >= 0, got nan"),
    ({"train__disc_lr": -1e-3}, r"train\.disc_lr"),
    ({"train__weight_decay": -1.0}, r"train\.weight_decay must be a number >= 0"),
    ({"train__w_adv": -0.1}, r"train\.w_adv must be a number >= 0"),
    ({"train__val_fraction": 1.0}, r"train\.val_fraction must be a number in \[0, 1\)"),
    ({"train__num_threads": -1}, r"train\.num_threads must be an integer >= 0"),
    ({"model__variant": "transformer"}, r"variant"),
    ({"model__channels": ()}, r"model\.channels must be a non-empty tuple"),
    ({"model__channels": (8, 0)}, r"model\.channels"),
    ({"model__hidden_dim": 0}, r"model\.hidden_dim must be an integer >= 1"),
    ({"model__z_dim": "4"}, r"model\.z_dim"),
    ({"model__dropout": 1.0}, r"model\.dropout must be a number in \[0, 1\)"),
    ({"model__prior_std": 0.0}, r"model\.prior_std must be a number > 0"),
    ({"features__n_mels": 0}, r"features\.n_mels must be an integer >= 1"),
    ({"features__hop_ms": 0.0}, r"features\.hop_ms must be a number > 0"),
    ({"features__n_fft": 256}, r"features\.n_fft must be >= the window length .*400"),
    ({"features__f_max": 9000.0}, r"features\.f_max must be a number in \(0, 8000\]"),
    ({"features__top_db": 0.0}, r"features\.top_db must be a number > 0 or None"),
    ({"features__segment_frames": 0}, r"features\.segment_frames must be an integer >= 1"),
    ({"features__segment_hop": 0}, r"features\.segment_hop must be an integer >= 1"),
    ({"features__deltas": "yes"}, r"features\.deltas must be True or False"),
    ({"synth__emo_speakers": 0}, r"synth\.emo_speakers must be an integer >= 1"),
    ({"synth__aux_utts_per_speaker": -1}, r"synth\.aux_utts_per_speaker"),
    ({"synth__min_duration_s": 0.1}, r"synth\.min_duration_s"),
    ({"synth__seed": -3}, r"synth\.seed must be an integer >= 0"),
]


@pytest.mark.parametrize("overrides, match", BAD_OVERRIDES,
                         ids=[next(iter(o)) + "=" + repr(next(iter(o.values())))
                              for o, _ in BAD_OVERRIDES])
def test_get_config_rejects_bad_values_naming_the_field(overrides, match):
    with pytest.raises(ValueError, match=match):
        get_config("tiny", **overrides)


def test_new_fields_of_other_sections_are_validated_when_present():
    if hasattr(FeatureConfig(), "normalise"):
        with pytest.raises(ValueError, match=r"features\.normalise must be one of"):
            get_config("tiny", features__normalise="per-utterance")
    if hasattr(ModelConfig(), "pooling"):
        with pytest.raises(ValueError, match=r"model\.pooling must be one of"):
            get_config("tiny", model__pooling="max")


def test_good_values_still_pass_and_lists_become_tuples():
    cfg = get_config("tiny", train__steps=1, train__w_adv=0.0, train__w_emotion=0.0,
                     train__val_fraction=0.0, train__amp=False, train__seed=0,
                     features__f_max=None, features__top_db=None, model__channels=[8, 16])
    assert cfg.model.channels == (8, 16)
    import numpy as np

    get_config("tiny", train__steps=np.int64(5), train__lr=np.float32(1e-3))


@pytest.mark.parametrize("make, match", [
    (lambda: TrainConfig(steps=0), r"train\.steps"),
    (lambda: TrainConfig(amp="no"), r"train\.amp"),
    (lambda: ModelConfig(n_emotions=2), r"model\.n_emotions"),
    (lambda: SynthConfig(aux_speakers=0), r"synth\.aux_speakers must be an integer >= 1"),
    (lambda: FeatureConfig(n_mels=-1), r"features\.n_mels"),
    (lambda: Config(train={"steps": 3}), r"config section 'train' must be a TrainConfig"),
])
def test_constructing_a_section_validates(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_from_dict_validates_a_stored_config():
    data = json.loads(get_config("tiny").to_json())
    data["train"]["batch_size"] = 0
    with pytest.raises(ValueError, match=r"train\.batch_size"):
        Config.from_dict(data)


def test_validate_catches_assignment_after_construction():
    cfg = get_config("tiny")
    cfg.train.eval_every = 0
    with pytest.raises(ValueError, match=r"train\.eval_every"):
        cfg.validate()
    with pytest.raises(ValueError, match=r"train\.eval_every"):
        get_config(cfg)  # copying a config re-checks it


def test_presets_are_valid():
    for name in ("tiny", "classroom", "paper"):
        assert dataclasses.asdict(get_config(name).validate())


@pytest.mark.parametrize("argv, option", [(["--steps", "0"], "--steps"),
                                          (["--steps", "-5"], "--steps"),
                                          (["--seed", "-1"], "--seed"),
                                          (["--label-fraction", "0"], "--label-fraction")])
def test_cli_refuses_bad_values_before_training(tmp_path, capsys, argv, option):
    out = tmp_path / "run"
    rc = main(["train", "--preset", "tiny", "--out", str(out), "--quiet", *argv])
    err = capsys.readouterr().err
    assert rc != 0
    assert option in err and "Traceback" not in err
    assert not (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()
