"""Does a refactor change what `sertutor train` computes? Run the same job in two checkouts.

Trains the classroom job with the settings every checkout since issue #14's options existed
can express (per-corpus normalisation, flattening encoder, one CPU thread, so the numerics do
not depend on the machine's load) and prints the held-out and synth-field UAR. Run it in the
old and the new checkout (PYTHONPATH picks the package; this file need not exist in OLD), each
with its own data folder, and compare the two ``metrics.json``::

    S=$PWD/benchmarks/refactor_equivalence.py
    (cd OLD && SERTUTOR_DATA_DIR=/tmp/d_old PYTHONPATH=. python $S /tmp/eq_old)
    (cd NEW && SERTUTOR_DATA_DIR=/tmp/d_new PYTHONPATH=. python $S /tmp/eq_new)

2026-12-02: 5317a5b (before the session-5 refactor) and 2722883 gave identical metrics
(UAR 0.53125, synth-field 0.4323, best step 400); only timings and new config fields differ.
"""

from __future__ import annotations

import json
import sys

from sertutor.config import get_config
from sertutor.jobs import run


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python benchmarks/refactor_equivalence.py OUT_DIR")
    cfg = get_config("classroom", features__normalise="corpus", model__pooling="flatten",
                     train__num_threads=1)
    m = run(cfg, out_dir=sys.argv[1], report=False, progress=False, overwrite=True)
    print(json.dumps({"uar": m["uar"], "wa": m["wa"],
                      "field": m["cross_corpus"]["synth-field"]["uar"],
                      "best_step": m["train"]["best_step"]}))


if __name__ == "__main__":
    main()
