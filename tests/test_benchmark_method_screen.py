"""benchmarks/method_screen.py: which linear reference a setting is paired with."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import method_screen  # noqa: E402  (benchmarks/method_screen.py)


def rows(setting: str, seeds, *, uar: float = 0.5) -> list[dict]:
    return [{"arm": f"linear@{setting}", "fraction": 1.0, "fold": 0, "seed": s, "uar": uar}
            for s in seeds]


def test_a_setting_with_its_own_linear_rows_uses_them():
    linear = rows("today", [0, 1]) + rows("both", [0, 1])
    got, source = method_screen._linear_rows("today", linear)
    assert source == "today" and {r["arm"] for r in got} == {"linear@today"}


def test_a_training_change_shares_the_linear_rows_of_its_features():
    # both_bs48 changes only the batch size: the linear model of `both` reads the same input
    got, source = method_screen._linear_rows("both_bs48", rows("today", [0]) + rows("both", [0, 1]))
    assert source == "both" and [r["seed"] for r in got] == [0, 1]
    # its own rows first, then the shared setting's for the pairs it lacks, never twice
    linear = rows("both_bs48", [4, 5], uar=0.9) + rows("both", [0, 4, 5])
    got, source = method_screen._linear_rows("both_bs48", linear)
    assert source == "both_bs48 + both"
    assert sorted(r["seed"] for r in got) == [0, 4, 5]
    assert {r["seed"]: r["uar"] for r in got} == {0: 0.5, 4: 0.9, 5: 0.9}
    # `speaker` differs from `both` only in the network's pooling: the same linear model
    assert method_screen._linear_rows("speaker", rows("both", [0]))[1] == "both"


def test_other_features_never_borrow_a_reference():
    # `today` normalises per corpus: the rows of `both` (per speaker) are not its reference
    assert method_screen._linear_rows("today", rows("both", [0])) == ([], "today")
    # a change of the segmentation is a change of the features: no borrowing (conservative)
    assert method_screen._linear_rows("both_seg192", rows("both", [0]))[0] == []


def test_settings_pin_the_defaults_their_rows_were_trained_with():
    # the preset's defaults moved (weight average in session 13, no speaker head in 15, a
    # speaker adversary in 17, the prosody target in 21): each setting names all four, so a
    # recorded row keeps its meaning whatever today's defaults are
    for name, overrides in method_screen.SETTINGS.items():
        assert {"train__ema_decay", "train__w_speaker", "model__speaker_grad",
                "model__decoder_prosody"} <= set(overrides), name
    assert method_screen.SETTINGS["both_ema"]["train__w_speaker"] == 0.3
    assert method_screen.SETTINGS["both_ema"]["model__speaker_grad"] == 1.0
    assert method_screen.SETTINGS["both_ema_nospk"]["train__w_speaker"] == 0.0
    assert method_screen.SETTINGS["both_ema_spkadv"]["model__decoder_prosody"] is False
    # `both_ema_prosody` is today's classroom defaults: its overrides change nothing
    from sertutor.config import get_config
    assert get_config("classroom", **method_screen.SETTINGS["both_ema_prosody"]) \
        == get_config("classroom")
    assert get_config("classroom", **method_screen.SETTINGS["both_ema_spkadv"]) \
        != get_config("classroom")
    # the prosody target is the decoder's: no new arm for the models without one
    assert method_screen._repeats_another_arm("mtl", "both_ema_prosody")
    assert not method_screen._repeats_another_arm("aae", "both_ema_prosody")
    # so is its weight (session 22): today's defaults but for train.w_prosody
    for name, weight in (("both_ema_prosody_w03", 0.3), ("both_ema_prosody_w3", 3.0)):
        assert get_config("classroom", **method_screen.SETTINGS[name]) \
            == get_config("classroom", train__w_prosody=weight)
        assert method_screen._repeats_another_arm("mtl", name)
        assert not method_screen._repeats_another_arm("full", name)
    assert get_config("classroom", **method_screen.SETTINGS["both_ema"]) \
        != get_config("classroom")
    # a pin is no change: the baseline runs under `both_ema`; a setting that only drops the
    # speaker head would repeat the baseline's arm, so it is not run for the baseline
    assert not method_screen._repeats_another_arm("baseline", "both_ema")
    assert method_screen._repeats_another_arm("baseline", "both_ema_nospk")
    assert not method_screen._repeats_another_arm("full", "both_ema_nospk")
    # the speaker adversary changes only the speaker head's gradient: no arm for the baseline
    assert method_screen._repeats_another_arm("baseline", "both_ema_spkadv")
    assert not method_screen._repeats_another_arm("mtl", "both_ema_spkadv")
    # a setting that also changes what the baseline uses is run for it
    assert not method_screen._repeats_another_arm("baseline", "both_ema_nospk_balance")
    assert method_screen._repeats_another_arm("baseline", "both_z32")  # a decoder-only change
