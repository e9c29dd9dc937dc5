"""Detection speed: drift-sentinel against the tools people use today, on the same Parquet files.

Generates a reference and a current window (20 numeric + 5 categorical features, drift injected into
num_00–num_03 and cat_0, ~1 % NaN), writes them to Parquet, and times, in separate processes:

- drift-sentinel ``detect_drift`` (KS + PSI + Wasserstein + chi-square) with a cached reference profile;
- the numpy floor: ``np.sort`` of every numeric column of the current window;
- a loop of scipy (``ks_2samp`` + ``wasserstein_distance`` + numpy PSI per numeric column,
  ``chi2_contingency`` per categorical column);
- NannyML's ``UnivariateDriftCalculator`` (KS + Wasserstein, chi2; ``calculate`` only, one chunk) and
  Evidently's ``DataDriftPreset`` (``Report.run``), each in ``.venv-bench/`` (created here with uv; they
  conflict with the project's pinned set) — reported as "not installed" when that fails;
- river's ADWIN / Page-Hinkley / DDM fed one value at a time against our batch ``detect()``, checking that
  the detections are identical.

Only the detection call is timed (files are read before the clock starts). Prints medians and ratios, the
sort floor and the peak resident memory of the drift-sentinel process.

    python benchmarks/detection.py            # 100k and 1M rows
    python benchmarks/detection.py --quick    # 20k rows, fewer repeats (a minute or so)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BENCH_VENV = ROOT / ".venv-bench"
N_NUMERIC, CARDINALITIES = 20, (3, 8, 20, 100, 1000)
DRIFTED = {"num_00", "num_01", "num_02", "num_03", "cat_0"}
STREAM_DETECTORS = ("ADWIN", "PageHinkley", "DDM")


# ------------------------------------------------------------------------------------------------ data
def generate(rows: int, folder: Path, seed: int = 7) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"reference_{rows}.parquet", folder / f"current_{rows}.parquet"
    if all(p.exists() for p in paths):
        return paths
    for path, drift, s in ((paths[0], False, seed), (paths[1], True, seed + 1)):
        rng = np.random.default_rng(s)
        cols: dict[str, object] = {}
        for i in range(N_NUMERIC):
            x = rng.normal(0.0, 1.0 + 0.1 * i, rows)
            if drift and f"num_{i:02d}" in DRIFTED:
                x += 0.5 * (1.0 + 0.1 * i)
            x[rng.random(rows) < 0.01] = np.nan
            cols[f"num_{i:02d}"] = x
        for j, k in enumerate(CARDINALITIES):
            codes = rng.integers(0, k, rows)
            if drift and j == 0:
                codes = np.where(rng.random(rows) < 0.2, 0, codes)
            labels = np.array([f"v{t}" for t in range(k)], dtype=object)
            cols[f"cat_{j}"] = labels[codes]
        pd.DataFrame(cols).to_parquet(path)
    return paths


def features() -> dict[str, str]:
    return {f"num_{i:02d}": "numeric" for i in range(N_NUMERIC)} | {
        f"cat_{j}": "categorical" for j in range(len(CARDINALITIES))
    }


# --------------------------------------------------------------------------------------------- workers
def _rss_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MB, from /proc; ru_maxrss elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_ours(ref_path: str, cur_path: str, repeats: int) -> dict[str, object]:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from drift_sentinel.detection import detect_drift, profile_reference

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    cfg = {"algorithms": ["ks", "psi", "wasserstein", "chi_square"], "features": features()}
    detect_drift(ref.iloc[:2000], cur.iloc[:2000], cfg)  # load compiled kernels
    data_rss_mb = _rss_mb("VmRSS")
    t = time.perf_counter()
    profile = profile_reference(ref, cfg)
    profile_s = time.perf_counter() - t
    times, report = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        report = detect_drift(ref, cur, cfg, profile=profile)
        times.append(time.perf_counter() - t)
    single = []
    for _ in range(repeats):
        t = time.perf_counter()
        detect_drift(ref, cur, {**cfg, "n_jobs": 1}, profile=profile)
        single.append(time.perf_counter() - t)
    peak_rss_mb = _rss_mb("VmHWM")
    tracemalloc.start()
    detect_drift(ref, cur, cfg, profile=profile)
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    t = time.perf_counter()
    detect_drift(ref, cur, cfg)
    cold_s = time.perf_counter() - t
    numeric = [cur[c].to_numpy() for c in features() if c.startswith("num_")]
    floor = []
    for _ in range(repeats):
        t = time.perf_counter()
        for col in numeric:
            np.sort(col)
        floor.append(time.perf_counter() - t)
    assert report is not None
    return {
        "times": times,
        "single_thread": single,
        "profile_s": profile_s,
        "cold_s": cold_s,
        "floor": floor,
        "affected": sorted(a.name for a in report.affected_features),
        "peak_rss_mb": peak_rss_mb,
        "data_rss_mb": data_rss_mb,
        "traced_peak_mb": traced_peak_mb,
    }


def worker_scipy(ref_path: str, cur_path: str, repeats: int) -> dict[str, object]:
    import numpy as np
    import pandas as pd
    from scipy import stats

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)

    def run() -> None:
        for name, kind in features().items():
            if kind == "numeric":
                a, b = ref[name].dropna().to_numpy(), cur[name].dropna().to_numpy()
                stats.ks_2samp(a, b)
                stats.wasserstein_distance(a, b)
                edges = np.unique(np.quantile(a, np.arange(1, 10) / 10))
                pa = np.maximum(
                    np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1) / a.size,
                    1e-4,
                )
                pb = np.maximum(
                    np.bincount(np.searchsorted(edges, b, side="right"), minlength=edges.size + 1) / b.size,
                    1e-4,
                )
                float(np.sum((pb - pa) * np.log(pb / pa)))
            else:
                table = pd.concat([ref[name].value_counts(), cur[name].value_counts()], axis=1).fillna(0)
                stats.chi2_contingency(table.to_numpy().T)

    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return {"times": times}


PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    import pandas as pd
    which, ref_path, cur_path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    feats = json.loads(sys.argv[5])
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    cats = [f for f, k in feats.items() if k == "categorical"]
    times = []
    if which == "nannyml":
        import nannyml as nml
        calc = nml.UnivariateDriftCalculator(
            column_names=list(feats), treat_as_categorical=cats, chunk_number=1,
            continuous_methods=["kolmogorov_smirnov", "wasserstein"], categorical_methods=["chi2"],
        )
        calc.fit(ref)
        for _ in range(repeats):
            t = time.perf_counter(); calc.calculate(cur); times.append(time.perf_counter() - t)
        version = nml.__version__
    else:
        import evidently
        from evidently import Report
        from evidently.presets import DataDriftPreset
        for _ in range(repeats):
            t = time.perf_counter(); Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
            times.append(time.perf_counter() - t)
        version = evidently.__version__
    print(json.dumps({"times": times, "version": version}))
    """
)


def ensure_bench_venv(install: bool) -> Path | None:
    """``.venv-bench/bin/python`` with nannyml and evidently (created with uv when missing)."""
    python = BENCH_VENV / "bin" / "python"
    probe = [str(python), "-c", "import nannyml, evidently"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    if not install:
        return None
    uv = shutil.which("uv") or str(ROOT / ".venv" / "bin" / "uv")
    try:
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(BENCH_VENV)], check=True, timeout=600)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(python),
                "nannyml",
                "evidently",
                "pandas<3",
                "pyarrow",
            ],
            check=True,
            timeout=1200,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  (peer venv not created: {exc})", file=sys.stderr)
        return None
    return python if subprocess.run(probe, capture_output=True).returncode == 0 else None


def run_peer(python: Path | None, which: str, ref: Path, cur: Path, repeats: int) -> dict[str, object] | None:
    if python is None:
        return None
    proc = subprocess.run(
        [str(python), "-c", PEER_SCRIPT, which, str(ref), str(cur), str(repeats), json.dumps(features())],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"  ({which} failed: {proc.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_worker(kind: str, ref: Path, cur: Path, repeats: int) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(ref), str(cur), str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------- streaming
def streaming(n: int, repeats: int) -> list[dict[str, object]]:
    import numpy as np
    from river import drift as river_drift

    sys.path.insert(0, str(ROOT))
    from drift_sentinel.detection import ADWIN, DDM, PageHinkley

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, n // 2), rng.normal(0.5, 1, n - n // 2)])
    bits = (rng.random(n) < np.r_[np.full(n // 2, 0.1), np.full(n - n // 2, 0.2)]).astype(float)
    rows = []
    for name, ours, theirs, data in (
        ("ADWIN", ADWIN(), river_drift.ADWIN, x),
        ("PageHinkley", PageHinkley(), river_drift.PageHinkley, x),
        ("DDM", DDM(), river_drift.binary.DDM, bits),
    ):
        values = data.tolist()
        river_times, hits = [], []
        for _ in range(max(1, repeats // 2)):
            det = theirs()
            t = time.perf_counter()
            hits = []
            for i, v in enumerate(values):
                det.update(v)
                if det.drift_detected:
                    hits.append(i)
            river_times.append(time.perf_counter() - t)
        ours.detect(data[:100])
        our_times, mine = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            mine = ours.detect(data)
            our_times.append(time.perf_counter() - t)
        rows.append(
            {
                "detector": name,
                "river": statistics.median(river_times),
                "ours": statistics.median(our_times),
                "identical": mine == hits,
                "detections": len(hits),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------------ main
def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "not installed"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k rows, fewer repeats")
    parser.add_argument("--rows", help="comma-separated window sizes (default 100000,1000000)")
    parser.add_argument("--repeats", type=int, help="timed runs per method (default 5; 2 with --quick)")
    parser.add_argument("--no-peers", action="store_true", help="skip NannyML and Evidently")
    parser.add_argument("--no-install", action="store_true", help="do not create .venv-bench")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, ref, cur, repeats = args.worker
        fn = worker_ours if kind == "ours" else worker_scipy
        print(json.dumps(fn(ref, cur, int(repeats))))
        return 0

    sizes = (
        [int(s) for s in args.rows.split(",")]
        if args.rows
        else ([20_000] if args.quick else [100_000, 1_000_000])
    )
    repeats = args.repeats or (2 if args.quick else 5)
    slow_repeats = max(1, min(3, repeats))
    peer_python = None if args.no_peers else ensure_bench_venv(install=not args.no_install)
    print(f"# drift-sentinel detection benchmark — {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print(f"# command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    print(f"# medians of {repeats} runs (scipy, NannyML: {slow_repeats}; Evidently: 1)\n")
    ok = True
    for rows in sizes:
        ref, cur = generate(rows, RESULTS / "data")
        ours = run_worker("ours", ref, cur, repeats)
        ours_s = statistics.median(ours["times"])  # type: ignore[arg-type]
        floor_s = statistics.median(ours["floor"])  # type: ignore[arg-type]
        scipy = run_worker("scipy", ref, cur, slow_repeats)
        nanny = run_peer(peer_python, "nannyml", ref, cur, slow_repeats)
        evid = run_peer(peer_python, "evidently", ref, cur, 1)
        found = set(ours["affected"])  # type: ignore[arg-type]
        ok &= found == DRIFTED
        print(
            f"## {rows:,} rows × 25 features (20 numeric, 5 categorical; drifted: {', '.join(sorted(DRIFTED))})\n"
        )
        print("| method | median | drift-sentinel is faster by |")
        print("| --- | ---: | ---: |")
        print(
            f"| drift-sentinel `detect_drift` (KS+PSI+Wasserstein+χ², cached profile) | {_fmt(ours_s)} | 1.0× |"
        )
        single_s = statistics.median(ours["single_thread"])  # type: ignore[arg-type]
        print(f"| drift-sentinel, one thread (`n_jobs=1`) | {_fmt(single_s)} | {single_s / ours_s:.2f}× |")
        for label, result in (
            ("scipy loop (ks_2samp + wasserstein_distance + PSI, chi2_contingency)", scipy),
            ("NannyML UnivariateDriftCalculator.calculate (KS, Wasserstein, χ²)", nanny),
            ("Evidently Report(DataDriftPreset).run", evid),
        ):
            med = statistics.median(result["times"]) if result else None  # type: ignore[arg-type]
            version = f" {result['version']}" if result and "version" in result else ""
            ratio = f"{med / ours_s:.1f}×" if med else "—"
            print(f"| {label}{version} | {_fmt(med)} | {ratio} |")
        print(
            f"| numpy floor: `np.sort` of the 20 numeric columns, one thread | {_fmt(floor_s)} "
            f"| {floor_s / ours_s:.2f}× |"
        )
        print()
        print(
            f"- drift-sentinel / sort floor: **{ours_s / floor_s:.2f}×** ({single_s / floor_s:.2f}× on one "
            "thread); without a cached profile: "
            f"{_fmt(ours['cold_s'])} (profiling the reference once: {_fmt(ours['profile_s'])})"
        )  # type: ignore[arg-type]
        print(
            f"- memory: peak RSS of the drift-sentinel process {ours['peak_rss_mb']:.0f} MB, of which the two "
            f"loaded windows {ours['data_rss_mb']:.0f} MB; one `detect_drift` call allocates at most "
            f"{ours['traced_peak_mb']:.0f} MB (tracemalloc)"
        )
        verdict = "as injected" if found == DRIFTED else "MISMATCH"
        print(f"- affected features found: {', '.join(sorted(found))} ({verdict})\n")
    n_stream = 50_000 if args.quick else 1_000_000
    print(
        f"## streaming detectors, {n_stream:,} values (river fed one value at a time vs batch `detect()`)\n"
    )
    print("| detector | river | drift-sentinel `detect()` | faster by | identical detections |")
    print("| --- | ---: | ---: | ---: | --- |")
    for row in streaming(n_stream, repeats):
        ok &= bool(row["identical"])
        print(
            f"| {row['detector']} | {_fmt(row['river'])} | {_fmt(row['ours'])} | "  # type: ignore[arg-type]
            f"{row['river'] / row['ours']:.0f}× | {'yes' if row['identical'] else 'NO'} ({row['detections']}) |"  # type: ignore[operator]
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
