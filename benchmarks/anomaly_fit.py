"""Isolation Forest fits of one window's signals: drift-sentinel's ``IsolationForestScores`` against PyOD's ``IForest``
and scikit-learn's ``IsolationForest`` in the same process.

The rows are what ``signal_anomalies`` fits for an hourly window: a week of 5-minute signal vectors plus the
window's own (2,028 rows), 14 signals, robust-scaled normal noise with a few spikes. Each fit is timed ``--repeat``
times after a warm-up; the table gives medians and the ratio to ours, and checks that the three give the same
scores (PyOD's ``decision_scores_`` bit for bit; scikit-learn's ``score_samples`` is the same forest).

Exit status: 0 when the scores are PyOD's and in scikit-learn's order, 1 otherwise, 2 for bad arguments.

Run: ``.venv/bin/python benchmarks/anomaly_fit.py [--rows 2028] [--signals 14] [--repeat 15] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fit: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    """Median seconds of ``repeat`` calls after one warm-up, and the scores of the last call."""
    scores = fit()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        scores = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_028)
    parser.add_argument("--signals", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--contamination", type=float, default=0.01)
    parser.add_argument("--quick", action="store_true", help="5 repeats")
    args = parser.parse_args(argv)
    for name in ("rows", "signals", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if not 0 < args.contamination < 0.5:
        parser.error(f"--contamination must be in (0, 0.5), got {args.contamination}")
    repeat = 5 if args.quick else args.repeat

    from pyod.models.iforest import IForest
    from sklearn.ensemble import IsolationForest

    from drift_sentinel.analysis.anomalies import IsolationForestScores

    X = np.random.default_rng(0).normal(size=(args.rows, args.signals))
    X[-12:-6] += 8.0  # a spike in the current window
    c = args.contamination
    fits: dict[str, Callable[[], np.ndarray]] = {
        "drift-sentinel IsolationForestScores": lambda: (
            IsolationForestScores(contamination=c, random_state=0).fit(X).decision_scores_
        ),
        "PyOD IForest": lambda: (
            IForest(contamination=c, random_state=0, n_estimators=100).fit(X).decision_scores_
        ),
        "scikit-learn IsolationForest (fit + score_samples)": lambda: (
            -IsolationForest(n_estimators=100, random_state=0).fit(X).score_samples(X)
        ),
    }
    results = {name: timed(fit, repeat) for name, fit in fits.items()}
    ours_s, ours = results["drift-sentinel IsolationForestScores"]
    pyods = results["PyOD IForest"][1]
    sklearns = results["scikit-learn IsolationForest (fit + score_samples)"][1]
    same_as_pyod = bool((ours == pyods).all())
    same_order = bool((np.argsort(ours, kind="stable") == np.argsort(sklearns, kind="stable")).all())
    print(
        f"Isolation Forest, 100 trees, {args.rows:,} rows x {args.signals} signals, median of {repeat} fits"
    )
    print("| fit | median | vs drift-sentinel |")
    print("| --- | ---: | ---: |")
    for name, (seconds, _) in results.items():
        print(f"| {name} | {seconds * 1000:.1f} ms | {seconds / ours_s:.2f}x |")
    print(f"scores equal to PyOD's bit for bit: {same_as_pyod}; same ranking as scikit-learn's: {same_order}")
    return 0 if same_as_pyod and same_order else 1


if __name__ == "__main__":
    sys.exit(main())
