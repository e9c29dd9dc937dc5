"""Loading the code location imports only what building the definitions needs.

Every process that loads the definitions (``dagster definitions validate``, the code server, each run) pays for
the packages imported at module level; numba, scipy, scikit-learn and the integrations load on first use instead.
Times are in ``benchmarks/fifty_models.py``; here only which packages a fresh process has imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Heavy packages that loading the definitions must not import (each costs up to seconds of start-up).
DEFERRED = (
    "numba",
    "llvmlite",
    "scipy",
    "sklearn",
    "statsmodels",
    "prophet",
    "pyod",
    "mlflow",
    "great_expectations",
    "boto3",
    "kubernetes",
)


def _run(code: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SENTINEL_CONFIG": str(REPO / "sentinel.yaml")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_definitions_defers_heavy_packages() -> None:
    out = _run(
        "import json, sys\n"
        "import sentinel_assets.definitions as d\n"
        "assert d.defs.resolve_asset_graph().get_all_asset_keys()\n"
        f"print(json.dumps(sorted(m for m in {DEFERRED!r} if m in sys.modules)))\n"
    )
    assert out == []


def test_detectors_compile_on_first_use_after_a_cheap_load() -> None:
    out = _run(
        "import json, sys\n"
        "import numpy as np\n"
        "import sentinel_assets.definitions\n"
        "from drift_sentinel.detection import streaming, univariate\n"
        "before = 'numba' in sys.modules\n"
        "rng = np.random.default_rng(5)\n"
        "stream = np.concatenate([rng.normal(0, 1, 800), rng.normal(1.5, 1, 800)])\n"
        "u, v = np.sort(rng.normal(0, 1, 30_000)), np.sort(rng.normal(0.1, 1, 30_000))\n"
        "d, _, w = univariate.ks_sorted(u, v)\n"
        "from numba.core.registry import CPUDispatcher\n"
        "JITTED = ('_adwin_run', '_adwin_reset')\n"
        "from river import drift\n"
        "from scipy import stats\n"
        "river = drift.ADWIN()\n"
        "expected = [i for i, x in enumerate(stream.tolist()) if (river.update(x), river.drift_detected)[1]]\n"
        "print(json.dumps({'before': before, 'found': streaming.ADWIN().detect(stream), 'expected': expected,\n"
        "    'd': [d, stats.ks_2samp(u, v).statistic], 'w': [w, stats.wasserstein_distance(u, v)],\n"
        "    'compiled': [isinstance(getattr(streaming, n), CPUDispatcher) for n in JITTED]}))\n"
    )
    assert out["before"] is False  # numba was not loaded with the definitions
    assert (
        out["found"] == out["expected"] and out["found"]
    )  # the lazily compiled ADWIN detects as river's does
    assert out["d"][0] == out["d"][1]
    assert abs(out["w"][0] - out["w"][1]) < 1e-12
    assert out["compiled"] == [True, True]  # the jitted callee was compiled and swapped in first
