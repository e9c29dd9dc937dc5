"""Every read of the instance's history goes through ``resources/history.py`` (issue 13).

Walks the Dagster-layer packages with ``ast`` and fails on a private ``dagster._core`` import or a call of one of
the instance's history queries anywhere else. The rule is on the method name, whatever the receiver
(``instance.get_run_records``, ``instance.event_log_storage.get_asset_check_execution_history``…).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sentinel_assets", "sensors", "jobs", "resources", "io_managers", "api")
HISTORY_MODULE = "resources/history.py"

QUERIES = frozenset(
    {
        "get_run_records",
        "get_runs",
        "fetch_materializations",
        "fetch_observations",
        "get_event_records",
        "get_materialized_partitions",
        "get_latest_materialization_event",
        "get_asset_check_execution_history",
        "get_run_ids",
    }
)

# Files allowed private Dagster imports that are not history reads, each with the reason.
ALLOWED_PRIVATE_IMPORTS: dict[str, str] = {
    # Launching a job of another code location from inside an op (WorkspaceProcessContext, WorkspaceLoadTarget,
    # JobSubsetSelector): Dagster has no public API for it. It writes runs; it reads no history.
    "resources/run_launcher.py": "launches a run in another code location; no public equivalent",
    # The demo instance's storage subclasses Dagster's SQLite storages (only importable from dagster._core) to keep
    # one engine per file; it stores what Dagster stores and reads no history of its own.
    "sentinel_assets/sqlite_storage.py": "the demo's SQLite storage class; Dagster's own storage underneath",
}

# Files still allowed their own history queries, each with the reason.
ALLOWED_QUERIES: dict[str, str] = {
    # The service API's cached read module: its queries feed READ_CACHE (keyed per query); not yet routed
    # through resources.history.
    "api/history.py": "the service API's cached reads, not migrated yet",
}


def offences(source: str, name: str) -> list[str]:
    """``name:line: what`` for each private Dagster import and each history query call in ``source``.

    >>> offences("from dagster._core.event_api import X\\ninstance.get_runs()\\nget_runs = 1", "m.py")
    ['m.py:1: imports dagster._core.event_api', 'm.py:2: calls get_runs']
    >>> offences("import dagster._core.storage as s\\nfrom dagster import AssetKey", "m.py")
    ['m.py:1: imports dagster._core.storage']
    """
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        private = [m for m in modules if m == "dagster._core" or m.startswith("dagster._core.")]
        found += [f"{name}:{node.lineno}: imports {m}" for m in private]
        if isinstance(node, ast.Call):
            called = (
                node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            )
            if called in QUERIES:
                found.append(f"{name}:{node.lineno}: calls {called}")
    return found


def layer_files() -> list[Path]:
    files = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    assert len(files) > 20, f"expected the Dagster layer under {ROOT}, found {len(files)} files"
    return files


def test_private_dagster_imports_only_in_the_history_module() -> None:
    bad = [
        line
        for path in layer_files()
        if (name := path.relative_to(ROOT).as_posix()) != HISTORY_MODULE
        and name not in ALLOWED_PRIVATE_IMPORTS
        for line in offences(path.read_text(), name)
        if " imports " in line
    ]
    assert not bad, "private dagster._core imports outside resources/history.py:\n" + "\n".join(bad)


def test_history_queries_only_in_the_history_module() -> None:
    bad = [
        line
        for path in layer_files()
        if (name := path.relative_to(ROOT).as_posix()) != HISTORY_MODULE and name not in ALLOWED_QUERIES
        for line in offences(path.read_text(), name)
        if " calls " in line
    ]
    assert not bad, "instance history queries outside resources/history.py:\n" + "\n".join(bad)


def test_the_history_module_is_where_the_queries_are() -> None:
    # the walker sees them where they are (so the two tests above can fail)
    found = offences((ROOT / HISTORY_MODULE).read_text(), HISTORY_MODULE)
    assert any(" imports dagster._core" in line for line in found), found
    assert {line.rsplit(" ", 1)[1] for line in found if " calls " in line} >= {
        "fetch_materializations",
        "fetch_observations",
        "get_run_records",
        "get_asset_check_execution_history",
    }


def test_allow_list_entries_are_still_needed() -> None:
    # an allow-list entry whose file no longer does what it is allowed must go
    for name in ALLOWED_QUERIES:
        assert any(" calls " in line for line in offences((ROOT / name).read_text(), name)), name
    for name in ALLOWED_PRIVATE_IMPORTS:
        assert any(" imports " in line for line in offences((ROOT / name).read_text(), name)), name
