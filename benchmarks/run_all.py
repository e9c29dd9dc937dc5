"""Run every benchmark in ``benchmarks/`` (each ``*.py`` except this runner and ``_``-prefixed helpers).

Arguments are passed to every benchmark (``python benchmarks/run_all.py --quick``). Exits non-zero when a
benchmark fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    return sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    failed = []
    for script in benchmarks():
        print(f"\n===== {script.name} {' '.join(args)}".rstrip(), flush=True)
        if subprocess.run([sys.executable, str(script), *args]).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
