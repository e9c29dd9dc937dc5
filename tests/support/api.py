"""A real API server (uvicorn) and, when remediation is exercised, a real Dagster webserver, on loopback.

:func:`api_world` builds credentials (a JWKS, a signing key, a service-keys file) and starts
``uvicorn api.app:create_app --factory`` on a free port against ``DAGSTER_HOME``; :func:`dagster_webserver`
starts ``dagster-webserver`` on the same instance (runs launched through it execute in a subprocess of its code
server, with the instance's ``DefaultRunCoordinator``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from drift_sentinel.access import generate_key_pair, issue_token
from tests.support.servers import LOOPBACK, _process, _stop_process_group, _venv_bin, free_port

REPO = Path(__file__).resolve().parents[2]
ISSUER, AUDIENCE = "drift-sentinel-test", "drift-sentinel-api"

SERVICE_KEYS = {
    "ci-operator": {"role": "operator", "teams": ["ml-platform"]},
    "slow-viewer": {"role": "viewer", "teams": ["ml-platform"], "rate_limit_per_minute": 3},
    "payments-operator": {"role": "operator", "teams": ["payments"]},
}


@dataclass
class Credentials:
    folder: Path
    private_pem: bytes
    jwks: Path
    service_keys: Path
    secrets: dict[str, str] = field(default_factory=dict)

    def token(
        self, role: str = "operator", teams: tuple[str, ...] = ("ml-platform",), **kwargs: object
    ) -> str:
        return issue_token(
            self.private_pem,
            kid="test-1",
            subject=str(kwargs.pop("subject", f"{role}-user")),
            role=role,
            teams=list(teams),
            issuer=str(kwargs.pop("issuer", ISSUER)),
            audience=str(kwargs.pop("audience", AUDIENCE)),
            **kwargs,  # type: ignore[arg-type]
        )


def make_credentials(folder: Path) -> Credentials:
    folder.mkdir(parents=True, exist_ok=True)
    pem, jwks = generate_key_pair("test-1")
    (folder / "jwks.json").write_text(json.dumps(jwks))
    secrets = {name: f"secret-{name}-0123456789abcdef" for name in SERVICE_KEYS}
    keys = [{"id": name, "secret": secrets[name], **spec} for name, spec in SERVICE_KEYS.items()]
    (folder / "service-keys.json").write_text(json.dumps({"keys": keys}))
    return Credentials(folder, pem, folder / "jwks.json", folder / "service-keys.json", secrets)


def write_instance_yaml(dagster_home: Path) -> None:
    """SQLite storage under ``dagster_home``, runs launched at once (no daemon needed), no telemetry."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = {
        "telemetry": {"enabled": False},
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "DefaultRunCoordinator",
        },
    }
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))


def project_env(root: Path, config_file: Path) -> dict[str, str]:
    """The environment the API, the webserver and the test share for one project."""
    return {
        "SENTINEL_CONFIG": str(config_file),
        "SENTINEL_HOME": str(root / ".sentinel"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "REMEDIATION_AUTO": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


@contextlib.contextmanager
def api_server(
    root: Path,
    env: Mapping[str, str],
    credentials: Credentials,
    *,
    graphql_url: str = "",
    timeout: float = 120,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """``uvicorn api.app:create_app --factory`` on a free loopback port; yields its base URL."""
    port = free_port()
    server_env = {
        **env,
        "API_JWKS": str(credentials.jwks),
        "API_JWT_ISSUER": ISSUER,
        "API_JWT_AUDIENCE": AUDIENCE,
        "API_SERVICE_KEYS": str(credentials.service_keys),
        "API_DATA_ROOTS": str(root),
        "API_MAX_BODY_BYTES": "65536",
        "DAGSTER_GRAPHQL_URL": graphql_url or f"http://{LOOPBACK}:{free_port()}/graphql",
        **(extra_env or {}),
    }
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    argv += ["--host", LOOPBACK, "--port", str(port), "--no-access-log"]
    with _process(
        argv,
        log=root / "api.log",
        env=server_env,
        health_url=f"http://{LOOPBACK}:{port}/livez",
        timeout=timeout,
        name="api",
    ):
        yield f"http://{LOOPBACK}:{port}"


@contextlib.contextmanager
def dagster_webserver(root: Path, env: Mapping[str, str]) -> Iterator[str]:
    """Start ``dagster-webserver`` for ``sentinel_assets.definitions`` on a free port and yield its GraphQL URL
    at once (it loads while the caller prepares; :func:`wait_for_code_location` waits for it)."""
    port = free_port()
    argv = [
        _venv_bin("dagster-webserver"),
        "-h",
        LOOPBACK,
        "-p",
        str(port),
        "-m",
        "sentinel_assets.definitions",
    ]
    with open(root / "webserver.log", "wb") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env, "PYTHONPATH": str(REPO)},
            start_new_session=True,
        )
        try:
            yield f"http://{LOOPBACK}:{port}/graphql"
        finally:
            _stop_process_group(proc)


def wait_for_code_location(graphql_url: str, log: Path, timeout: float = 300) -> None:
    """Poll the webserver's GraphQL API until every code location has loaded."""
    query = b'{"query": "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            graphql_url, data=query, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                entries = json.loads(response.read())["data"]["workspaceOrError"].get("locationEntries", [])
        except (OSError, ValueError, KeyError):
            entries = []
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            return
        time.sleep(0.5)
    raise TimeoutError(
        f"code location not loaded at {graphql_url}:\n{log.read_text(errors='replace')[-3000:]}"
    )
