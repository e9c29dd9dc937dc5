"""Performance estimation: drift-sentinel's CBPE against NannyML 0.13.1's, chunk by chunk, and against the truth.

NannyML's synthetic car-loan dataset (it ships with the package: 50 000 reference rows with targets, 50 000
analysis rows whose targets come separately) is written to Parquet by NannyML's side, which runs in
``.venv-bench/`` (NannyML's pins conflict with the project's) and fits ``nml.CBPE`` on the reference and
estimates ROC AUC and accuracy per chunk of 5 000 analysis rows. Our side, in the project's venv, fits
:class:`drift_sentinel.performance.CBPE` on the same reference and estimates the same chunks (the served
decision ``y_pred`` as the predicted class, as NannyML uses it); the realized values come from the targets.

Printed: per chunk, realized / NannyML / ours for ROC AUC and accuracy; the mean absolute difference of each
estimate to the realized values and ours to NannyML's; the share of chunks whose realized value lies in each
tool's interval; fit time and time per chunk (median of ``--repeats``), with the load average (the machine is
shared: timings are under load).

    python benchmarks/performance_estimation.py            # 3 timing repeats
    python benchmarks/performance_estimation.py --repeats 1

``.venv-bench/`` is created when missing: ``python3 -m venv .venv-bench && .venv-bench/bin/pip install
nannyml==0.13.1 statsmodels`` (nannyml 0.13.1 imports statsmodels without declaring it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / ".venv-bench"
NANNYML_VERSION = "0.13.1"
CHUNK = 5000
METRICS = ("roc_auc", "accuracy")


# ------------------------------------------------------------------------------------------ NannyML's side
def nannyml_side(out: Path, repeats: int) -> None:
    """Runs inside .venv-bench: write the dataset, time NannyML's CBPE, write its per-chunk estimates."""
    import nannyml as nml

    reference, analysis, targets = nml.load_synthetic_car_loan_dataset()
    reference.to_parquet(out / "reference.parquet")
    analysis.to_parquet(out / "analysis.parquet")
    targets.to_parquet(out / "targets.parquet")
    fits, estimates = [], []
    for _ in range(repeats):
        cbpe = nml.CBPE(
            y_pred_proba="y_pred_proba",
            y_pred="y_pred",
            y_true="repaid",
            timestamp_column_name="timestamp",
            metrics=list(METRICS),
            chunk_size=CHUNK,
            problem_type="classification_binary",
        )
        start = time.perf_counter()
        cbpe.fit(reference)
        fitted = time.perf_counter()
        result = cbpe.estimate(analysis)
        fits.append(fitted - start)
        estimates.append(time.perf_counter() - fitted)
    frame = result.filter(period="analysis").to_df()
    chunks = []
    for _, row in frame.iterrows():
        chunk = {"start": int(row[("chunk", "start_index")]), "end": int(row[("chunk", "end_index")])}
        for metric in METRICS:
            chunk[metric] = float(row[(metric, "value")])
            chunk[f"{metric}_lower"] = float(row[(metric, "lower_confidence_boundary")])
            chunk[f"{metric}_upper"] = float(row[(metric, "upper_confidence_boundary")])
        chunks.append(chunk)
    report = {
        "version": nml.__version__,
        "fit_seconds": statistics.median(fits),
        "per_chunk_seconds": statistics.median(estimates) / len(chunks),
        "chunks": chunks,
    }
    (out / "nannyml.json").write_text(json.dumps(report))


def bench_python() -> Path | str:
    """``.venv-bench/bin/python`` with nannyml 0.13.1, created when missing; or why it cannot be."""
    python = BENCH_VENV / "bin" / "python"
    probe = [str(python), "-c", "import nannyml; print(nannyml.__version__)"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        print(f"creating {BENCH_VENV.name}/ with nannyml=={NANNYML_VERSION} ...", file=sys.stderr, flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        pip = [str(BENCH_VENV / "bin" / "pip"), "install", "-q", f"nannyml=={NANNYML_VERSION}", "statsmodels"]
        done = subprocess.run(pip, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"pip install nannyml=={NANNYML_VERSION} failed: {done.stderr.strip().splitlines()[-1:]}"
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0:
        return f"nannyml does not import in {BENCH_VENV.name}: {found.stderr.strip().splitlines()[-1:]}"
    if found.stdout.strip() != NANNYML_VERSION:
        print(
            f"note: {BENCH_VENV.name} has nannyml {found.stdout.strip()}, not {NANNYML_VERSION}",
            file=sys.stderr,
        )
    return python


# ------------------------------------------------------------------------------------------------ our side
def our_side(folder: Path, repeats: int) -> dict:
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, roc_auc_score

    from drift_sentinel.performance import CBPE

    reference = pd.read_parquet(folder / "reference.parquet")
    analysis = pd.read_parquet(folder / "analysis.parquet")
    targets = pd.read_parquet(folder / "targets.parquet")
    truth = analysis[["id"]].merge(targets, on="id", how="left")["repaid"].to_numpy()
    fits, per_chunk = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        estimator = CBPE(
            score_column="y_pred_proba",
            label_column="repaid",
            predicted_column="y_pred",
            calibration="auto",
            confidence=0.997,  # NannyML's band is ±3 standard errors
        ).fit(reference)
        fits.append(time.perf_counter() - start)
        chunks = []
        timed = []
        for begin in range(0, len(analysis), CHUNK):
            window = analysis.iloc[begin : begin + CHUNK]
            started = time.perf_counter()
            result = estimator.estimate(window)
            timed.append(time.perf_counter() - started)
            y = truth[begin : begin + CHUNK].astype(int)
            chunk = {
                "start": begin,
                "realized_roc_auc": float(roc_auc_score(y, window["y_pred_proba"])),
                "realized_accuracy": float(accuracy_score(y, window["y_pred"].astype(int))),
            }
            for metric in METRICS:
                estimate = result.estimate(metric)
                chunk[metric] = estimate.value
                chunk[f"{metric}_lower"], chunk[f"{metric}_upper"] = estimate.lower, estimate.upper
            chunks.append(chunk)
        per_chunk.append(float(np.mean(timed)))
    return {
        "fit_seconds": statistics.median(fits),
        "per_chunk_seconds": statistics.median(per_chunk),
        "calibrated": result.calibrated,
        "chunks": chunks,
    }


# ---------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (median reported)")
    parser.add_argument("--quick", action="store_true", help="one timing repeat (run_all passes it)")
    parser.add_argument("--nannyml-side", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else max(1, args.repeats)
    if args.nannyml_side:
        nannyml_side(args.nannyml_side, repeats)
        return 0
    python = bench_python()
    if isinstance(python, str):
        print(f"NannyML side not run: {python}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="perf-bench-") as tmp:
        folder = Path(tmp)
        load_before = os.getloadavg()
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        peer = subprocess.run(
            [str(python), __file__, "--nannyml-side", str(folder), "--repeats", str(repeats)],
            capture_output=True,
            text=True,
            env=env,
        )
        if peer.returncode != 0:
            print(f"NannyML side failed:\n{peer.stderr[-2000:]}", file=sys.stderr)
            return 1
        nanny = json.loads((folder / "nannyml.json").read_text())
        ours = our_side(folder, repeats)
        load_after = os.getloadavg()
    print_table(nanny, ours, load_before, load_after)
    return 0


def print_table(nanny: dict, ours: dict, load_before: tuple, load_after: tuple) -> None:
    theirs = {c["start"]: c for c in nanny["chunks"]}
    rows = [(c, theirs[c["start"]]) for c in ours["chunks"]]
    print(f"NannyML {nanny['version']} CBPE vs drift_sentinel CBPE, car-loan dataset, chunks of {CHUNK} rows")
    print(
        f"(our calibration: {'isotonic' if ours['calibrated'] else 'none'}, chosen by the held-out ECE check)\n"
    )
    print("| chunk | ROC AUC realized | NannyML | ours | accuracy realized | NannyML | ours |")
    print("|---|---|---|---|---|---|---|")
    for i, (c, n) in enumerate(rows):
        print(
            f"| {i} | {c['realized_roc_auc']:.4f} | {n['roc_auc']:.4f} | {c['roc_auc']:.4f} "
            f"| {c['realized_accuracy']:.4f} | {n['accuracy']:.4f} | {c['accuracy']:.4f} |"
        )
    print(
        "\n| metric | MAE NannyML-realized | MAE ours-realized | MAE ours-NannyML "
        "| realized in interval (NannyML / ours) | mean half-width (NannyML / ours) |"
    )
    print("|---|---|---|---|---|---|")
    for metric in METRICS:
        real = [c[f"realized_{metric}"] for c, _ in rows]
        mine = [c[metric] for c, _ in rows]
        peer = [n[metric] for _, n in rows]

        def mae(a: list, b: list) -> float:
            return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)

        pairs = list(zip(rows, real, strict=True))
        inside_peer = sum(n[f"{metric}_lower"] <= r <= n[f"{metric}_upper"] for (_, n), r in pairs)
        inside_ours = sum(c[f"{metric}_lower"] <= r <= c[f"{metric}_upper"] for (c, _), r in pairs)
        width_peer = statistics.mean((n[f"{metric}_upper"] - n[f"{metric}_lower"]) / 2 for _, n in rows)
        width_ours = statistics.mean((c[f"{metric}_upper"] - c[f"{metric}_lower"]) / 2 for c, _ in rows)
        print(
            f"| {metric} | {mae(peer, real):.4f} | {mae(mine, real):.4f} | {mae(mine, peer):.1e} "
            f"| {inside_peer}/{len(rows)} / {inside_ours}/{len(rows)} | {width_peer:.4f} / {width_ours:.4f} |"
        )
    print("\n| | fit on 50 000 reference rows (s) | estimate per chunk (ms) |")
    print("|---|---|---|")
    print(f"| NannyML | {nanny['fit_seconds']:.3f} | {1000 * nanny['per_chunk_seconds']:.1f} |")
    print(f"| ours | {ours['fit_seconds']:.3f} | {1000 * ours['per_chunk_seconds']:.1f} |")
    print(
        f"\nload average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
        f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} (2 cores, shared machine)"
    )


if __name__ == "__main__":
    sys.exit(main())
