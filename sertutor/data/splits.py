"""Speaker-independent splits, and which utterances keep their emotion label.

An emotion classifier that has heard a test speaker during training is scored on a voice it
knows; SER results are only comparable when no speaker (or recording session) is on both
sides of a split. Every split here groups rows by the manifest's ``group`` column (falling
back to ``corpus/speaker``, :func:`~sertutor.data.labels.speaker_keys`):

- :func:`group_folds`: K folds, stratified by emotion where possible;
- :func:`leave_one_group_out`: one fold per group (speaker or session);
- :func:`split_groups`: hold out a random fraction of the groups (validation speakers).

:func:`label_subset` hides labels for the semi-supervised setting: it keeps the emotion labels
of a stratified fraction of the training utterances; the rest become unlabelled data.

References
----------
- B. Schuller, B. Vlasenko, F. Eyben, G. Rigoll and A. Wendemuth, "Acoustic emotion
  recognition: a benchmark comparison of performances", IEEE ASRU 2009 (leave-one-speaker-out
  evaluation as the standard protocol).
- S. Latif et al., "Multi-task semi-supervised adversarial autoencoding for speech emotion
  recognition", IEEE Trans. Affective Computing 13(2), 2022 (results by the fraction of
  labelled training data).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from .labels import speaker_keys
from .manifest import EMOTIONS

__all__ = ["group_folds", "leave_one_group_out", "split_groups", "label_subset"]


def _groups(manifest: pd.DataFrame) -> np.ndarray:
    """The ``group`` column, falling back to ``corpus/speaker`` where it is empty."""
    if not isinstance(manifest, pd.DataFrame) or "group" not in manifest.columns:
        raise ValueError("manifest must be a DataFrame with a 'group' column")
    groups = manifest["group"].to_numpy(dtype=object).copy()
    empty = groups == ""
    if empty.any():
        groups[empty] = speaker_keys(manifest[empty])
        still = groups == ""
        if still.any():
            raise ValueError(f"manifest: {int(still.sum())} rows have neither a group nor a "
                             f"speaker, e.g. utt_id {list(manifest['utt_id'][still][:3])}; "
                             "speaker-independent splits need one")
    return groups.astype(str)


def _stratified_group_test_masks(y: np.ndarray, groups: np.ndarray, n_folds: int,
                                 seed: int) -> list[np.ndarray]:
    """Test rows of each fold, as scikit-learn's ``StratifiedGroupKFold(n_folds,
    shuffle=True, random_state=seed)`` chooses them: the same algorithm and random stream,
    so the same folds (the tests compare them), without importing scikit-learn and scipy
    (about 75 MB of resident memory in every training run and notebook kernel).

    Groups are shuffled, then taken from the most to the least uneven class distribution, and
    each joins the fold whose per-class shares it keeps most even (ties: the fold with fewer
    rows).

    Parameters
    ----------
    y : numpy.ndarray, shape (n,)
        Class of each row (at least two classes).
    groups : numpy.ndarray, shape (n,)
        Group of each row.

    Returns
    -------
    list of numpy.ndarray of bool, each shape (n,)
    """
    rng = np.random.RandomState(seed)
    _, y_inv, y_cnt = np.unique(y, return_inverse=True, return_counts=True)
    if np.all(n_folds > y_cnt):
        raise ValueError(f"n_splits={n_folds} cannot be greater than the number of members "
                         "in each class.")
    _, groups_inv, groups_cnt = np.unique(groups, return_inverse=True, return_counts=True)
    n_groups, n_classes = len(groups_cnt), len(y_cnt)
    counts = np.zeros((n_groups, n_classes))  # (G, K) rows of each class per group
    for class_idx, group_idx in zip(y_inv, groups_inv):
        counts[group_idx, class_idx] += 1
    perm = np.arange(n_groups)
    rng.shuffle(perm)
    counts = counts[perm]
    inv_perm = np.empty_like(perm)
    inv_perm[perm] = np.arange(perm.size)
    groups_inv = inv_perm[groups_inv]
    per_fold = np.zeros((n_folds, n_classes))  # (F, K)
    fold_of_group = np.full(n_groups, -1)
    for group_idx in np.argsort(-np.std(counts, axis=1), kind="stable"):
        best, min_eval, min_rows = None, np.inf, np.inf
        for i in range(n_folds):
            per_fold[i] += counts[group_idx]
            evaluation = np.mean(np.std(per_fold / y_cnt.reshape(1, -1), axis=0))
            per_fold[i] -= counts[group_idx]
            n_rows = np.sum(per_fold[i])
            if evaluation < min_eval or (np.isclose(evaluation, min_eval)
                                         and n_rows < min_rows):
                best, min_eval, min_rows = i, evaluation, n_rows
        per_fold[best] += counts[group_idx]
        fold_of_group[group_idx] = best
    row_fold = fold_of_group[groups_inv]  # (n,)
    return [row_fold == i for i in range(n_folds)]


def group_folds(manifest: pd.DataFrame, *, n_folds: int,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """K speaker-independent folds: every group is in exactly one test fold.

    Uses sklearn's ``StratifiedGroupKFold`` (stratified by emotion, groups shuffled by ``seed``)
    when the manifest has more than one emotion value, else ``GroupKFold``.

    Returns
    -------
    list of (train_idx, test_idx)
        Row positions (int64), ``n_folds`` pairs; no group appears on both sides.
    """
    groups = _groups(manifest)
    n_groups = len(set(groups))
    if not isinstance(n_folds, (int, np.integer)) or not 2 <= n_folds <= n_groups:
        raise ValueError(f"n_folds must be an int in [2, {n_groups}] (the number of groups), "
                         f"got {n_folds!r}")
    X = np.zeros((len(groups), 1))
    y = manifest["emotion"].to_numpy(dtype=str)
    folds = None
    if len(set(y)) > 1:
        rows = np.arange(len(groups))
        folds = [(rows[~test], rows[test])
                 for test in _stratified_group_test_masks(y, groups, n_folds, seed)]
        if any(len(te) == 0 for _, te in folds):
            folds = None
    if folds is None:
        # sklearn (and scipy with it) costs a kernel about 75 MB: loaded only for this case
        from sklearn.model_selection import GroupKFold

        splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = list(splitter.split(X, None, groups))
    return [(np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)) for tr, te in folds]


def leave_one_group_out(manifest: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """One fold per group (speaker or session), groups in sorted order.

    Returns
    -------
    list of (train_idx, test_idx)
        Row positions (int64); fold ``k`` tests on the ``k``-th group alone.
    """
    from sklearn.model_selection import LeaveOneGroupOut  # slow to import: see group_folds

    groups = _groups(manifest)
    if len(set(groups)) < 2:
        raise ValueError("leave_one_group_out needs at least 2 groups, found "
                         f"{len(set(groups))}")
    X = np.zeros((len(groups), 1))
    return [(tr.astype(np.int64), te.astype(np.int64))
            for tr, te in LeaveOneGroupOut().split(X, None, groups)]


def split_groups(manifest: pd.DataFrame, *, fraction: float,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a random ``fraction`` of the groups (e.g. validation speakers).

    ``round(fraction * n_groups)`` groups are held out, at least 1 when ``fraction > 0`` and at
    most ``n_groups - 1``.

    Returns
    -------
    (train_idx, held_idx)
        Row positions (int64, sorted); no group is on both sides.
    """
    if not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    groups = _groups(manifest)
    unique = np.array(sorted(set(groups)))
    if fraction == 0.0:
        return np.arange(len(groups), dtype=np.int64), np.zeros(0, dtype=np.int64)
    if len(unique) < 2:
        raise ValueError(f"split_groups needs at least 2 groups, found {len(unique)}")
    n_held = min(max(1, int(round(fraction * len(unique)))), len(unique) - 1)
    held_groups = np.random.default_rng(seed).permutation(unique)[:n_held]
    held = np.isin(groups, held_groups)
    return np.flatnonzero(~held).astype(np.int64), np.flatnonzero(held).astype(np.int64)


def label_subset(manifest: pd.DataFrame, *, fraction: float, seed: int = 0) -> np.ndarray:
    """Which rows keep their emotion label when only a ``fraction`` of labels is used.

    Stratified by emotion: of each class's labelled rows, ``round(fraction * n_class)`` (at
    least 1) are kept, chosen at random with ``seed``. Rows without an emotion label are never
    kept. ``fraction=1.0`` keeps every labelled row.

    Returns
    -------
    numpy.ndarray of bool, shape (len(manifest),)
    """
    if not isinstance(fraction, (int, float)) or not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    if not isinstance(manifest, pd.DataFrame) or "emotion" not in manifest.columns:
        raise ValueError("manifest must be a DataFrame with an 'emotion' column")
    emotion = manifest["emotion"].to_numpy(dtype=str)
    keep = np.zeros(len(emotion), dtype=bool)
    rng = np.random.default_rng(seed)
    classes = [e for e in EMOTIONS if e in set(emotion)] + \
        sorted(set(emotion) - set(EMOTIONS) - {""})
    for label in classes:
        rows = np.flatnonzero(emotion == label)
        n_keep = len(rows) if fraction >= 1.0 else max(1, int(round(fraction * len(rows))))
        keep[rng.permutation(rows)[:n_keep]] = True
    return keep
