"""Feature extraction's memory is bounded whatever the file lengths (issue #15, item 6)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sertutor.config import get_config
from sertutor.data import dataset, extract
from sertutor.data.manifest import make_manifest


def _manifest(seconds: list[float], *, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = [{"utt_id": f"u{k}", "corpus": "longs", "speaker": f"s{k % 2}",
             "audio": (0.1 * rng.standard_normal(int(16000 * s))).astype(np.float32)}
            for k, s in enumerate(seconds)]
    return make_manifest(rows)


def test_batches_bounded_by_padded_samples_give_the_same_features(monkeypatch):
    cfg = get_config("tiny").features
    df = _manifest([1.0, 1.5, 2.0, 7.0, 2.5, 0.8])
    ref = dataset.extract_features(df, config=cfg, cache=False, progress=False)
    sizes = []
    real = extract.log_mel

    def spy(x, **kw):
        sizes.append(tuple(x.shape))
        return real(x, **kw)

    monkeypatch.setattr(extract, "log_mel", spy)  # the module that defines extract_features
    monkeypatch.setattr(extract, "MAX_BATCH_SAMPLES", 16000 * 8)  # 8 s of padded audio
    small = dataset.extract_features(df, config=cfg, cache=False, progress=False)
    assert all(b * n <= 16000 * 8 or b == 1 for b, n in sizes), sizes
    assert len(sizes) > 1
    for a, b in zip(ref.features, small.features):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_a_ten_minute_file_is_warned_about_and_stays_in_bounded_memory(tmp_path):
    script = textwrap.dedent("""
        import json, warnings, numpy as np
        from sertutor.config import get_config
        from sertutor.data.dataset import extract_features
        from sertutor.data.manifest import make_manifest
        from sertutor.runtime import rss_bytes
        rng = np.random.default_rng(0)
        rows = [{"utt_id": f"short{k}", "corpus": "longs", "speaker": "s1",
                 "audio": (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)}
                for k in range(40)]
        rows.append({"utt_id": "ten_minutes", "corpus": "longs", "speaker": "s2",
                     "audio": (0.1 * rng.standard_normal(16000 * 600)).astype(np.float32)})
        df = make_manifest(rows)
        extract_features(df.iloc[:2], config=get_config("tiny").features, cache=False,
                         progress=False)  # warm up torch's kernels
        before = rss_bytes(peak=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fs = extract_features(df, config=get_config("tiny").features, cache=False,
                                  progress=False)
        print(json.dumps({"grew_mb": (rss_bytes(peak=True) - before) / 2**20,
                          "n": len(fs), "warnings": [str(w.message) for w in caught]}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["n"] == 41
    assert any("ten_minutes (600 s)" in w for w in result["warnings"]), result["warnings"]
    # the old batching padded a batch of 32 to 10 minutes: about 4 GB
    assert result["grew_mb"] < 700, result


@pytest.mark.parametrize("bad", [0, -1])
def test_batch_size_must_be_positive(bad):
    with pytest.raises((ValueError, TypeError)):
        dataset.extract_features(_manifest([1.0]), config=get_config("tiny").features,
                                 cache=False, progress=False, batch_size=bad)
