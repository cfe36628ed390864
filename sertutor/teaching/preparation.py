"""Lab preparation: corpora, feature caches, the pretrained model, numba's UMAP cache, doctor.

:func:`prepare` (``sertutor tutorials prepare``): corpora, feature caches, the pretrained
model and numba's UMAP cache, then ``sertutor doctor``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from .. import doctor, pretrained
from ..data import prepare_corpora

# numpy and umap are imported inside _warm_umap: umap (and numba) take seconds to load.

def _warm_umap() -> None:
    """Fit a tiny UMAP so numba compiles umap's and pynndescent's kernels into its cache."""
    import numpy as np
    import umap

    umap.UMAP(n_epochs=10).fit(np.random.default_rng(0).random((50, 8)))


def prepare(*, umap: bool = True, rescore: bool = True, quiet: bool = False,
            log: Callable[[str], Any] = print) -> int:
    """Prepare this machine for a lab, then run ``sertutor doctor``; return the exit status.

    The steps, each timed and reported:

    1. the classroom corpora, their feature caches and the training corpora's prosodic
       descriptors (pYIN: a few minutes once, which a first ``sertutor train`` would otherwise
       spend): exactly ``sertutor synth --preset classroom --features`` (the same command is
       run);
    2. the shipped pretrained model loads (:func:`sertutor.pretrained.load`);
    3. numba's compiled UMAP cache is warmed, so a notebook's first UMAP projection is not a
       15-20 s wait (skipped with ``umap=False``);
    4. :func:`sertutor.doctor.main` checks the machine (``rescore``: re-score the model).

    Parameters
    ----------
    umap : bool
        Warm numba's UMAP cache.
    rescore : bool
        Let the doctor re-score the shipped model (about 10 s).
    quiet : bool
        No progress bars while generating corpora.
    log : callable
        Where the step lines go.

    Returns
    -------
    int
        0 when every step worked and the doctor found nothing wrong, else 1.
    """
    failed = []

    def step(title: str, fn: Callable[[], Any]) -> None:
        log(f"== {title}")
        t0 = time.perf_counter()
        try:
            status = fn()
        except Exception as exc:  # noqa: BLE001 - report, go on with the next step
            status = f"{type(exc).__name__}: {exc}"
        if status not in (None, 0):
            failed.append(title)
            log(f"   FAILED: {status}")
        else:
            log(f"   done in {time.perf_counter() - t0:.1f} s")

    step("corpora, feature and prosody caches (as sertutor synth --preset classroom --features)",
         lambda: prepare_corpora("classroom", features=True, progress=not quiet, log=log)
         and None)
    step("the pretrained model loads", lambda: pretrained.load("classroom") and None)
    if umap:
        step("numba's UMAP cache", _warm_umap)
    log("== sertutor doctor")
    status = doctor.main(rescore=rescore)
    if failed:
        log(f"prepare: {len(failed)} step(s) failed: {'; '.join(failed)}")
    return 1 if failed or status else 0
