"""Labels as indices: speaker keys, the class lists a checkpoint stores, dimension bins.

- :func:`speaker_keys`: ``"<corpus>/<speaker>"`` per manifest row, the key speakers are
  indexed by (speaker ids are unique within a corpus only).
- :class:`LabelMaps`: the emotion, speaker and gender class lists that turn manifest labels
  into indices (-1 where unknown); checkpoints store them, so a trained model's outputs can be
  named.
- :func:`dimension_bins`: arousal / valence on the 1-5 scale as low / mid / high classes
  (:data:`BIN_EDGES`), the auxiliary classification targets of the multi-task model.

References
----------
- S. Latif, R. Rana, S. Khalifa, R. Jurdak, J. Epps and B. W. Schuller, "Multi-task
  semi-supervised adversarial autoencoding for speech emotion recognition", IEEE Trans.
  Affective Computing 13(2), 2022 (speaker, gender and binned arousal / valence as auxiliary
  tasks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .manifest import EMOTIONS, GENDERS, validate_manifest

__all__ = ["BIN_EDGES", "BIN_NAMES", "speaker_keys", "LabelMaps", "dimension_bins"]

#: Bin edges of arousal / valence on the 1-5 scale: <= 2.5 low (0), (2.5, 3.5) mid (1),
#: >= 3.5 high (2).
BIN_EDGES = (2.5, 3.5)
BIN_NAMES = ("low", "mid", "high")


def speaker_keys(manifest: pd.DataFrame) -> np.ndarray:
    """``corpus/speaker`` per row ('' where the speaker is unknown), shape (n,), object.

    Speaker ids are unique within a corpus only, so the key names the corpus too; it is what
    :class:`LabelMaps` and :class:`~sertutor.features.SpeakerNormStats` index speakers by.
    """
    return np.array([f"{c}/{s}" if s else "" for c, s in
                     zip(manifest["corpus"], manifest["speaker"])], dtype=object)


def _encode(values: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(v, -1) for v in values], dtype=np.int64)


@dataclass
class LabelMaps:
    """Class lists that turn manifest labels into indices (what checkpoints store).

    Attributes
    ----------
    emotions : tuple of str
        Emotion classes (:data:`~sertutor.data.manifest.EMOTIONS`; index = class).
    speakers : tuple of str
        Speaker keys ``"<corpus>/<speaker>"`` (speaker ids are unique within a corpus only).
    genders : tuple of str
        ``("female", "male")``: 0 female, 1 male.
    """

    emotions: tuple[str, ...] = EMOTIONS
    speakers: tuple[str, ...] = ()
    genders: tuple[str, ...] = GENDERS

    def __post_init__(self):
        self.emotions, self.speakers, self.genders = (tuple(self.emotions),
                                                      tuple(self.speakers), tuple(self.genders))

    @classmethod
    def fit(cls, manifest: pd.DataFrame) -> "LabelMaps":
        """Speakers (sorted) of a manifest, usually the auxiliary training corpus."""
        validate_manifest(manifest)
        return cls(speakers=tuple(sorted(set(speaker_keys(manifest)) - {""})))

    @property
    def n_emotions(self) -> int:
        return len(self.emotions)

    @property
    def n_speakers(self) -> int:
        return len(self.speakers)

    def encode_emotion(self, manifest: pd.DataFrame) -> np.ndarray:
        """Emotion index per row, shape (n,), -1 where unlabelled or outside the classes."""
        return _encode(manifest["emotion"], self.emotions)

    def encode_speaker(self, manifest: pd.DataFrame) -> np.ndarray:
        """Speaker index per row, shape (n,), -1 for speakers not in :attr:`speakers`."""
        return _encode(speaker_keys(manifest), self.speakers)

    def encode_gender(self, manifest: pd.DataFrame) -> np.ndarray:
        """Gender index per row, shape (n,): 0 female, 1 male, -1 unknown."""
        return _encode(manifest["gender"], self.genders)

    def to_dict(self) -> dict[str, list[str]]:
        return {"emotions": list(self.emotions), "speakers": list(self.speakers),
                "genders": list(self.genders)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabelMaps":
        try:
            return cls(emotions=tuple(data["emotions"]), speakers=tuple(data["speakers"]),
                       genders=tuple(data["genders"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"LabelMaps.from_dict needs keys emotions, speakers, genders "
                             f"({exc})") from exc


def dimension_bins(values: np.ndarray | Sequence[float]) -> np.ndarray:
    """Arousal / valence (1-5 scale) as classes: <= 2.5 low 0, (2.5, 3.5) mid 1, >= 3.5 high 2.

    NaN (unknown) gives -1. Returns int64 of the input's shape.
    """
    v = np.asarray(values, dtype=np.float64)
    out = np.where(v <= BIN_EDGES[0], 0, np.where(v >= BIN_EDGES[1], 2, 1)).astype(np.int64)
    out[np.isnan(v)] = -1
    return out
