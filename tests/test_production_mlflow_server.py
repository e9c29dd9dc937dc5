"""The demo loop end to end with a real ``mlflow server`` process as the model registry.

Only ``MLFLOW_TRACKING_URI`` changes (the model is registered under a name of its own). The run is the
session's one production-configured loop (``tests.test_production_postgres.production_loop``). The test
then asks the server, through ``MlflowClient``, for the registered versions and the champion alias the
remediation left behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from drift_sentinel.settings import Settings
from resources.health import check_mlflow
from tests.test_production_postgres import production_loop

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def loop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return production_loop(request, tmp_path_factory)


def test_loop_used_the_server_registry(loop: dict[str, Any]) -> None:
    summary = loop["summary"]
    assert summary["registry"]["model"] == loop["registered_name"]
    assert summary["incident"]["incident_id"]
    launched = [r for r in summary["remediation"] if r["launched"]]
    assert launched and all(r["status"] == "SUCCESS" for r in launched), summary["remediation"]
    assert check_mlflow(Settings.from_env({"MLFLOW_TRACKING_URI": loop["mlflow_url"]})).status == "reachable"
    # no local SQLite registry was created instead
    assert not (Path(loop["workdir"]) / ".sentinel" / "mlflow.db").exists()


def test_versions_and_champion_alias_are_on_the_server(loop: dict[str, Any]) -> None:
    summary = loop["summary"]
    client = MlflowClient(tracking_uri=loop["mlflow_url"], registry_uri=loop["mlflow_url"])
    versions = sorted(
        int(v.version) for v in client.search_model_versions(f"name = '{loop['registered_name']}'")
    )
    bootstrapped = summary["registry"]["versions"]

    def passed(job: str) -> list[dict[str, Any]]:
        return [
            r
            for r in summary["remediation"]
            if r["job"] == job and r["launched"] and r["status"] == "SUCCESS" and r["gate"] == "PASSED"
        ]

    # the demo's two versions, then one challenger registered on the server by each retrain the gate passed
    assert len(bootstrapped) >= 2 and versions[: len(bootstrapped)] == bootstrapped
    assert len(versions) - len(bootstrapped) == len(passed("remediate_retrain_model")), summary["remediation"]
    champion = client.get_model_version_by_alias(loop["registered_name"], "champion")
    assert str(champion.version) == str(summary["registry"]["champion_now"])
    if passed("remediate_rollback_model"):
        # the rollback moved the alias on the server to an earlier version
        assert int(champion.version) < int(summary["registry"]["champion"])
    elif str(champion.version) != str(summary["registry"]["champion"]):
        # a retrain promoted its challenger: the alias is on a version registered during the loop
        assert passed("remediate_retrain_model") and int(champion.version) in versions[len(bootstrapped) :]
    else:
        # nothing (or a dry run / refused gate) touched the registry: the champion stayed where it was
        assert str(champion.version) == str(summary["registry"]["champion"])
