"""The core package never imports dagster (DESIGN.md: imports point down only)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "drift_sentinel"


def _dagster_imports(path: Path, root: Path = CORE.parent) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            if name == "dagster" or name.startswith("dagster"):
                found.append(f"{path.relative_to(root)}:{node.lineno}: imports {name}")
    return found


def test_core_package_never_imports_dagster() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert files, f"no Python files under {CORE}"
    offences = [line for path in files for line in _dagster_imports(path)]
    assert not offences, "the core must not import dagster:\n" + "\n".join(offences)


def test_checker_names_file_and_line_of_each_offending_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\nfrom dagster_k8s import job\nimport dagster as dg\n"
        "import importlib\nimportlib.import_module('dagster_mlflow')\nfrom . import dagsterish_local\n"
    )
    assert _dagster_imports(probe, tmp_path) == [
        "probe.py:2: imports dagster_k8s",
        "probe.py:3: imports dagster",
        "probe.py:5: imports dagster_mlflow",
    ]
