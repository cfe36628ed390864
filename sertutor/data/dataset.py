"""From a manifest to tensors the model trains on: features, a feature cache, segments, splits.

The pipeline, in the order the notebooks use it::

    fs = extract_features(manifest, config=cfg.features)          # log-mel per utterance, cached
    folds = group_folds(fs.manifest, n_folds=5)                    # speaker-independent splits
    train_idx, test_idx = folds[0]
    train, test = fs.subset(train_idx), fs.subset(test_idx)
    stats = NormStats.fit(train.features)                          # per-corpus normalisation
    maps = LabelMaps.fit(train.manifest)
    keep = label_subset(train.manifest, fraction=0.3)              # semi-supervised: 30 % labels
    seg = make_segments(train, stats=stats, label_maps=maps, label_mask=keep).to("cuda")

Every name above is importable from here; each lives in the module of its concern:

==============================  ==================================================================
:mod:`sertutor.data.extract`    :func:`extract_features` computes log-mel features
                                (:func:`sertutor.features.log_mel`) in bounded-memory batches of
                                similar-length utterances, on the CPU or a GPU, into a
                                :class:`FeatureSet`.
:mod:`sertutor.data.cache`      the cache they are kept in (:func:`cache_path`:
                                ``data_dir()/features/<corpus>-<key>.npz``); the key
                                (:func:`cache_key`) hashes the feature settings, the utterance
                                ids and each file's size and modification time (or the samples
                                of in-memory audio), so changing any of them makes a new cache.
                                Cache files are written atomically; an unreadable one is
                                reported and rebuilt.
:mod:`sertutor.data.labels`     :class:`LabelMaps` (labels as indices), :func:`speaker_keys`,
                                :func:`dimension_bins`.
:mod:`sertutor.data.segments`   :func:`make_segments` normalises and cuts the features into
                                fixed-length segments and holds them, with per-segment labels,
                                as tensors in a :class:`SegmentSet`.
:mod:`sertutor.data.splits`     :func:`group_folds`, :func:`leave_one_group_out` and
                                :func:`split_groups` split by the manifest's ``group`` column
                                (speaker or session), so no group is on both sides;
                                :func:`label_subset` keeps the emotion labels of a stratified
                                fraction of utterances.
:mod:`sertutor.features`        :class:`NormStats`, :class:`SpeakerNormStats` (re-exported here).
==============================  ==================================================================
"""

from __future__ import annotations

from ..features import NormStats, SpeakerNormStats
from .cache import cache_key, cache_path
from .extract import LONG_FILE_SECONDS as LONG_FILE_SECONDS
from .extract import MAX_BATCH_SAMPLES as MAX_BATCH_SAMPLES
from .extract import FeatureSet, extract_features
from .labels import BIN_EDGES as BIN_EDGES
from .labels import BIN_NAMES as BIN_NAMES
from .labels import LabelMaps, dimension_bins, speaker_keys
from .segments import SEGMENT_TENSORS as SEGMENT_TENSORS
from .segments import SegmentSet, make_segments
from .splits import group_folds, label_subset, leave_one_group_out, split_groups

__all__ = [
    "FeatureSet",
    "extract_features",
    "cache_key",
    "cache_path",
    "LabelMaps",
    "SegmentSet",
    "make_segments",
    "dimension_bins",
    "group_folds",
    "leave_one_group_out",
    "split_groups",
    "label_subset",
    "NormStats",
    "SpeakerNormStats",
    "speaker_keys",
]
