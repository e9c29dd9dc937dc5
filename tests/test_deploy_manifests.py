"""Offline checks of everything under ``deploy/``.

There is no Kubernetes cluster, Helm binary or promtool on this machine (helm and kubeconform are in
neither apt nor PyPI), so: Kubernetes manifests are validated against the bundled OpenAPI schemas of
Kubernetes 1.33 with ``kubernetes-validate`` (strict: unknown fields fail); the run Job that
``K8sRunLauncher`` would submit for a remediation run is built with ``dagster_k8s``'s own
``construct_dagster_k8s_job`` and validated the same way; Helm values, Prometheus rules and Grafana
dashboards are parsed and checked field by field; the instance files are validated with Dagster's own
instance-config schema. Applying them to a live cluster is the one thing not done here.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import tomllib
import uuid
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from dagster import job, op, validate_run_config
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job
from kubernetes.client import ApiClient

from drift_sentinel.config import parse_config
from resources.exporter import METRICS
from resources.safety_gate import CHANGE_LOCK_TAG

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.33.0"
NAMESPACE = "drift-sentinel"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in _docs(path):
            if "apiVersion" in doc and "kind" in doc:
                out.append((path.name, doc))
    return out


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in _manifests() if d["kind"] == kind}


def _helm() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


def _instance_yaml(name: str = "dagster.yaml") -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / name).read_text())


def _published_names() -> set[str]:
    """Sample names the exporter can publish: gauges by name, counters with ``_total``."""
    return {name + ("_total" if kind == "counter" else "") for name, (kind, _) in METRICS.items()}


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bdrift_sentinel_[a-z0-9_]+", expr))


# ------------------------------------------------------------------------------------------ manifests


def test_manifest_set_is_complete() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in _manifests()}
    for expected in [
        ("Namespace", NAMESPACE),
        ("Deployment", "fraud-detector-v1"),
        ("Service", "fraud-detector-v1"),
        ("HorizontalPodAutoscaler", "fraud-detector-v1"),
        ("HorizontalPodAutoscaler", "dagster-webserver"),
        ("HorizontalPodAutoscaler", "drift-sentinel-user-code"),
        ("NetworkPolicy", "default-deny-all"),
        ("Secret", "drift-sentinel-secrets"),
        ("Secret", "dagster-postgresql-secret"),
        ("Deployment", "drift-sentinel-exporter"),
        ("Deployment", "drift-sentinel-api"),
        ("Service", "drift-sentinel-api"),
        ("HorizontalPodAutoscaler", "drift-sentinel-api"),
        ("NetworkPolicy", "api-ingress-egress"),
    ]:
        assert expected in kinds, f"missing {expected}"
    for _, doc in _manifests():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]


@pytest.mark.parametrize(
    ("filename", "doc"),
    _manifests(),
    ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in _manifests()],
)
def test_manifest_validates_against_kubernetes_schema(filename: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_strict_validation_rejects_a_broken_manifest() -> None:
    """Control: the validator really looks (an unknown field and a wrong type both fail)."""
    deployment = copy.deepcopy(_by_kind("Deployment")["fraud-detector-v1"])
    deployment["spec"]["replicaz"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    deployment = copy.deepcopy(_by_kind("Deployment")["fraud-detector-v1"])
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_serving_service_hpa_and_rbac_point_at_the_serving_deployment() -> None:
    deployment = _by_kind("Deployment")["fraud-detector-v1"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    service = _by_kind("Service")["fraud-detector-v1"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    hpa = _by_kind("HorizontalPodAutoscaler")["fraud-detector-v1"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "fraud-detector-v1",
    }
    assert hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    scale_role = _by_kind("Role")["drift-sentinel-scale-serving"]
    for rule in scale_role["rules"]:
        assert rule["resourceNames"] == ["fraud-detector-v1"]
        assert set(rule["verbs"]) <= {"get", "patch"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] and container["resources"]["limits"]


def test_control_plane_hpas_agree_with_helm_replicas() -> None:
    helm = _helm()
    hpas = _by_kind("HorizontalPodAutoscaler")
    user = helm["dagster-user-deployments"]["deployments"][0]
    assert helm["dagsterWebserver"]["replicaCount"] == 3 == hpas["dagster-webserver"]["spec"]["minReplicas"]
    assert user["replicaCount"] == 3 == hpas["drift-sentinel-user-code"]["spec"]["minReplicas"]
    assert hpas["drift-sentinel-user-code"]["spec"]["scaleTargetRef"]["name"].endswith(user["name"])


def test_network_policies_deny_by_default_and_allow_only_declared_ports() -> None:
    policies = _by_kind("NetworkPolicy")
    deny = policies["default-deny-all"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    for name, policy in policies.items():
        if name == "default-deny-all":
            continue
        spec = policy["spec"]
        for direction, peers in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction, []):
                assert rule.get("ports"), f"{name}: a {direction} rule without ports allows every port"
                assert rule.get(peers), f"{name}: a {direction} rule without peers allows every peer"
                for peer in rule[peers]:
                    assert peer, f"{name}: an empty {peers} peer matches everything"


def test_api_is_reached_only_from_the_frontend_namespace_and_reaches_the_webserver() -> None:
    deployment = _by_kind("Deployment")["drift-sentinel-api"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert _by_kind("Service")["drift-sentinel-api"]["spec"]["selector"].items() <= labels.items()
    hpa = _by_kind("HorizontalPodAutoscaler")["drift-sentinel-api"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "drift-sentinel-api"
    assert hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"]
    (container,) = pod["spec"]["containers"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    assert container["command"][:3] == ["uvicorn", "api.app:create_app", "--factory"]
    assert container["command"][container["command"].index("--port") + 1] == str(port)
    # secrets by reference only
    for entry in container["env"]:
        if (
            any(word in entry["name"] for word in ("PASSWORD", "SECRET", "KEY"))
            and entry["name"] != "API_SERVICE_KEYS"
        ):
            assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], entry["name"]
    # every policy that selects the API pods admits only the frontend namespace, on the API's port
    admitted = []
    for policy in _by_kind("NetworkPolicy").values():
        if not _selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            admitted += [(str(peer), p["port"]) for peer in rule["from"] for p in rule["ports"]]
    frontend = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "frontend"}}}
    assert admitted == [(str(frontend), port)], admitted
    # the webserver admits the API (GraphQL launches) on its port
    webserver = {"component": "dagster-webserver"}
    api_peer = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "drift-sentinel-api"}}}
    assert any(
        _selects(p["spec"]["podSelector"], webserver)
        and any(api_peer in r["from"] for r in p["spec"].get("ingress", []))
        for p in _by_kind("NetworkPolicy").values()
    )
    from api.app import create_app  # noqa: F401 (the probe path exists in the application)

    probes = {container["readinessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["path"]}
    assert probes == {"/livez"}


def _render(template: str, values: dict[str, Any], namespace: str) -> str:
    """The subset of Helm's templating the API chart uses: ``{{ .Values.a.b }}``, ``| quote``, the namespace."""

    def lookup(match: re.Match[str]) -> str:
        path, quote = match[1], match[2]
        if path == ".Release.Namespace":
            return namespace
        value: Any = values
        for part in path.removeprefix(".Values.").split("."):
            value = value[part]
        return json.dumps(str(value)) if quote else str(value)

    rendered = re.sub(r"\{\{\s*(\.[A-Za-z.]+)\s*(\|\s*quote)?\s*\}\}", lookup, template)
    assert "{{" not in rendered, "the chart uses templating this renderer does not know"
    return rendered


def test_api_helm_chart_renders_to_the_validated_manifests() -> None:
    chart = DEPLOY / "helm" / "drift-sentinel-api"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    rendered = _render((chart / "templates" / "api.yaml").read_text(), values, NAMESPACE)
    assert [d for d in yaml.safe_load_all(rendered) if d] == _docs(DEPLOY / "k8s" / "api.yaml")
    other = _render(
        (chart / "templates" / "api.yaml").read_text(), {**values, "allowedNamespace": "web"}, "x"
    )
    assert "kubernetes.io/metadata.name: web" in other and "namespace: x" in other


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "Exists" and value is None:
            return False
    return True


def test_models_configmap_is_a_valid_sentinel_config() -> None:
    models = _by_kind("ConfigMap")["drift-sentinel-models"]
    config = parse_config(models["data"]["sentinel.yaml"], source="drift-sentinel-models/sentinel.yaml")
    assert [m.id for m in config.models] == ["fraud-detector-v1"]
    assert config.models[0].asset_prefix == "fraud_detector_v1"


# ---------------------------------------------------------------------------------------- secrets


def test_secret_templates_carry_no_values() -> None:
    secrets = _by_kind("Secret")
    assert secrets
    for name, secret in secrets.items():
        assert "data" not in secret and "stringData" not in secret, f"Secret {name} has values"
        assert secret["metadata"]["annotations"]["drift-sentinel.io/required-keys"].strip()


_SECRETISH = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"xox[abpr]-[0-9A-Za-z-]{10,}"),  # Slack tokens
    re.compile(r"hooks\.slack\.com/services/[A-Z0-9]+/"),
    re.compile(r"(?i)(password|secret|token|api_?key)\s*[:=]\s*[\"']?[A-Za-z0-9+/_\-]{6,}[\"']?\s*$"),
]
_ALLOWED_SECRET_FIELDS = {
    # names of Secrets / keys, never values
    "postgres_password_secret: dagster-postgresql-secret",
    "postgresqlSecretName: dagster-postgresql-secret",
}


def test_no_secret_value_in_any_deploy_file() -> None:
    offenders = []
    for path in sorted(DEPLOY.rglob("*")):
        if not path.is_file():
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            stripped = line.strip().lstrip("-").strip()
            if stripped.startswith("#") or stripped in _ALLOWED_SECRET_FIELDS:
                continue
            if any(p.search(stripped) for p in _SECRETISH):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {stripped}")
    assert not offenders, "secret-looking values:\n" + "\n".join(offenders)
    helm = _helm()
    assert "postgresqlPassword" not in helm["postgresql"]
    assert helm["generatePostgresqlPasswordSecret"] is False


def test_secret_scan_catches_a_planted_value() -> None:
    """Control for the scan above."""
    planted = ["password: hunter2hunter2", "AWS key AKIAABCDEFGHIJKLMNOP", "token=xoxb-1234567890-abc"]
    for line in planted:
        assert any(p.search(line) for p in _SECRETISH), line


# ------------------------------------------------------------------------------- dagster instance


@pytest.mark.parametrize("name", ["dagster.yaml", "dagster.postgres.yaml"])
def test_instance_yaml_validates_against_dagster_schema(name: str, tmp_path: Path) -> None:
    shutil.copy(DEPLOY / name, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"
    for field_name, env in [
        ("hostname", "DAGSTER_PG_HOST"),
        ("port", "DAGSTER_PG_PORT"),
        ("username", "DAGSTER_PG_USER"),
        ("password", "DAGSTER_PG_PASSWORD"),
        ("db_name", "DAGSTER_PG_DB"),
    ]:
        assert db[field_name] == {"env": env}
    assert config["telemetry"]["enabled"] is False
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    per_model = [lim for lim in limits if lim["key"] == CHANGE_LOCK_TAG]
    assert per_model == [{"key": CHANGE_LOCK_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_production_instance_uses_k8s_run_launcher_with_valid_config() -> None:
    from dagster._config import validate_config

    launcher = _instance_yaml()["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    result = validate_config(K8sRunLauncher.config_type(), launcher["config"])
    assert result.success, [e.message for e in result.errors]
    bad = dict(launcher["config"], env_secretz=["x"])
    assert not validate_config(K8sRunLauncher.config_type(), bad).success


def test_helm_values_match_the_production_instance() -> None:
    helm = _helm()
    instance = _instance_yaml()
    launcher = instance["run_launcher"]["config"]
    k8s = helm["runLauncher"]["config"]["k8sRunLauncher"]
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"
    assert [s["name"] for s in k8s["envSecrets"]] == launcher["env_secrets"]
    assert [c["name"] for c in k8s["envConfigMaps"]] == launcher["env_config_maps"]
    assert k8s["resources"] == launcher["resources"]
    assert k8s["jobNamespace"] == launcher["job_namespace"] == NAMESPACE
    queue = helm["dagsterDaemon"]["runCoordinator"]
    assert queue["enabled"] is True and queue["type"] == "QueuedRunCoordinator"
    assert (
        queue["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
        == (instance["concurrency"]["runs"]["tag_concurrency_limits"])
    )
    pg = helm["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlScheme"] == "postgresql+psycopg2"
    assert helm["global"]["postgresqlSecretName"] == launcher["postgres_password_secret"]
    assert helm["telemetry"]["enabled"] is False
    user = helm["dagster-user-deployments"]["deployments"][0]
    assert user["dagsterApiGrpcArgs"] == ["-m", "sentinel_assets.definitions"]
    for component in (helm["dagsterWebserver"], user, helm["dagsterDaemon"]):
        assert component["resources"]["requests"] and component["resources"]["limits"]
        assert [s["name"] for s in component["envSecrets"]] == ["drift-sentinel-secrets"]


def test_k8s_job_executor_snippet_is_valid_run_config() -> None:
    @op
    def noop() -> None:
        pass

    @job(executor_def=k8s_job_executor)
    def fan_out() -> None:
        noop()

    snippet = yaml.safe_load((DEPLOY / "k8s" / "executor.yaml").read_text())
    result = validate_run_config(fan_out, snippet)
    assert result["execution"]["k8s"]["max_concurrent"] == 8
    assert result["execution"]["k8s"]["env_secrets"] == ["drift-sentinel-secrets"]
    bad = copy.deepcopy(snippet)
    bad["execution"]["config"]["max_concurrentt"] = 8
    with pytest.raises(Exception, match="max_concurrentt"):
        validate_run_config(fan_out, bad)


# ------------------------------------------------------------------------------------ the run Job


SECRET_VALUES = {
    "DAGSTER_PG_PASSWORD": "pg-" + uuid.uuid4().hex,
    "AWS_SECRET_ACCESS_KEY": "aws-" + uuid.uuid4().hex,
    "ALERT_SLACK_WEBHOOK_URL": "https://hooks.example.invalid/" + uuid.uuid4().hex,
}


def _remediation_run_job(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The Job K8sRunLauncher builds for a ``remediate_rollback_model`` run (as in its ``launch_run``)."""
    for name, value in SECRET_VALUES.items():  # secrets present in the launcher's own environment
        monkeypatch.setenv(name, value)
    helm = _helm()
    cfg = _instance_yaml()["run_launcher"]["config"]
    image = helm["dagster-user-deployments"]["deployments"][0]["image"]
    job_config = DagsterK8sJobConfig(
        job_image=f"{image['repository']}:{image['tag']}",  # the code location's image, from the gRPC server
        dagster_home=cfg["dagster_home"],
        image_pull_policy=cfg["image_pull_policy"],
        service_account_name=cfg["service_account_name"],
        instance_config_map=cfg["instance_config_map"],
        postgres_password_secret=cfg["postgres_password_secret"],
        env_config_maps=cfg["env_config_maps"],
        env_secrets=cfg["env_secrets"],
        labels=cfg["labels"],
        resources=cfg["resources"],
        security_context=cfg["security_context"],
    )
    run_id = str(uuid.uuid4())
    k8s_job = construct_dagster_k8s_job(
        job_config=job_config,
        args=["dagster", "api", "execute_run", "<serialized ExecuteRunArgs>"],
        job_name=f"dagster-run-{run_id}",
        pod_name=f"dagster-run-{run_id}",
        component="run_worker",
        user_defined_k8s_config=UserDefinedDagsterK8sConfig(),
        labels={"dagster/job": "remediate_rollback_model", "dagster/run-id": run_id},
        env_vars=[{"name": "DAGSTER_RUN_JOB_NAME", "value": "remediate_rollback_model"}],
    )
    manifest = ApiClient().sanitize_for_serialization(k8s_job)
    manifest["metadata"]["namespace"] = cfg["job_namespace"]
    return manifest


def test_remediation_run_job_image_env_resources_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _remediation_run_job(monkeypatch)
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    cfg = _instance_yaml()["run_launcher"]["config"]
    pod = manifest["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/drift-sentinel:0.1.0"
    assert container["args"][:3] == ["dagster", "api", "execute_run"]
    # env: the PostgreSQL password by reference to its Secret, never a value
    env = {e["name"]: e for e in container["env"]}
    assert env["DAGSTER_PG_PASSWORD"] == {
        "name": "DAGSTER_PG_PASSWORD",
        "valueFrom": {"secretKeyRef": {"key": "postgresql-password", "name": "dagster-postgresql-secret"}},
    }
    assert env["DAGSTER_HOME"]["value"] == "/opt/dagster/dagster_home"
    assert {"configMapRef": {"name": "drift-sentinel-config"}} in container["envFrom"]
    assert {"secretRef": {"name": "drift-sentinel-secrets"}} in container["envFrom"]
    assert container["resources"] == cfg["resources"]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["serviceAccountName"] == "drift-sentinel-run"
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "run_worker"
    assert labels["dagster/job"] == "remediate_rollback_model"
    assert labels["app.kubernetes.io/part-of"] == "drift-sentinel"
    assert manifest["metadata"]["labels"]["dagster/run-id"] == pod["metadata"]["labels"]["dagster/run-id"]
    # the run pod is one the NetworkPolicies let reach PostgreSQL, S3 and the code server
    policies = _by_kind("NetworkPolicy")
    assert _selects(policies["workers-egress"]["spec"]["podSelector"], labels)
    grpc_from = policies["user-code-grpc-ingress"]["spec"]["ingress"][0]["from"]
    assert any(_selects(peer["podSelector"], labels) for peer in grpc_from)


def test_no_secret_value_in_rendered_manifests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets set in the environment of whoever renders the manifests never end up in them."""
    rendered = [json.dumps(_remediation_run_job(monkeypatch))]
    rendered += [json.dumps(doc) for _, doc in _manifests()]
    rendered.append(json.dumps(_helm()))
    rendered.append(json.dumps(_instance_yaml()))
    text = "\n".join(rendered)
    for name, value in SECRET_VALUES.items():
        assert value not in text, f"the value of {name} leaked into a rendered manifest"
    for doc in [json.loads(r) for r in rendered[:1]]:
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for entry in container.get("env", []):
                if re.search(r"PASSWORD|SECRET|TOKEN|KEY", entry["name"]):
                    assert "value" not in entry, entry["name"]


# ------------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multi_stage_non_root_and_serves_the_code_location() -> None:
    lines = [ln.strip() for ln in (DEPLOY / "Dockerfile").read_text().splitlines()]
    stages = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(stages) >= 2 and " AS build" in stages[0] and " AS runtime" in stages[-1]
    assert any("-r requirements.lock" in ln for ln in lines)
    assert any(ln.startswith("COPY --from=build /opt/venv") for ln in lines)
    user = [ln for ln in lines if ln.startswith("USER ")][-1].split()[1]
    assert user.split(":")[0] not in {"0", "root"}
    cmd = json.loads([ln for ln in lines if ln.startswith("CMD ")][-1][4:])
    assert cmd[:5] == ["dagster", "api", "grpc", "-m", "sentinel_assets.definitions"]
    # every package the wheel ships is copied into the build stage
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"][
        "wheel"
    ]["packages"]
    copied = {ln.split()[1] for ln in lines if ln.startswith("COPY ") and not ln.startswith("COPY --")}
    assert set(packages) <= copied


# --------------------------------------------------------------------------- Prometheus and Grafana


def _duration_seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smh])", text)
    assert match, text
    return int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]


def test_alert_rules_have_the_three_severity_tiers() -> None:
    rules = {
        r["alert"]: r
        for group in yaml.safe_load((DEPLOY / "prometheus" / "alert_rules.yml").read_text())["groups"]
        for r in group["rules"]
    }
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
    critical = rules["DriftScoreCritical"]
    assert re.fullmatch(r"drift_sentinel_drift_score\s*>\s*0\.8", critical["expr"])
    assert critical["labels"] == {"severity": "critical", "page": "true"}
    accuracy = rules["ModelAccuracyLow"]
    assert re.fullmatch(r"drift_sentinel_model_accuracy\s*<\s*0\.9", accuracy["expr"])
    assert _duration_seconds(accuracy["for"]) == 15 * 60 and accuracy["labels"]["severity"] == "warning"
    completed = rules["RemediationCompleted"]
    assert 'drift_sentinel_remediation_runs_total{status="success"}' in completed["expr"]
    assert completed["labels"]["severity"] == "info"


def test_alert_rules_and_dashboards_only_use_published_metrics() -> None:
    published = _published_names()
    used: dict[str, set[str]] = {}
    for group in yaml.safe_load((DEPLOY / "prometheus" / "alert_rules.yml").read_text())["groups"]:
        for rule in group["rules"]:
            used.setdefault("alert_rules.yml", set()).update(_metric_names(rule["expr"]))
    dashboards = sorted((DEPLOY / "grafana").glob("*.json"))
    titles = set()
    for path in dashboards:
        board = json.loads(path.read_text())
        titles.add(board["title"])
        assert board["uid"] and board["panels"]
        for panel in board["panels"]:
            assert panel["targets"], f"{path.name}: panel {panel['title']} queries nothing"
            for target in panel["targets"]:
                names = _metric_names(target["expr"])
                assert names, f"{path.name}: {target['expr']}"
                used.setdefault(path.name, set()).update(names)
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                used[path.name].update(_metric_names(variable["definition"]))
    assert {t.split("— ")[1] for t in titles} == {"Executive", "Operations", "ML Performance", "Incident"}
    for where, names in used.items():
        assert names <= published, f"{where} uses unpublished metrics: {sorted(names - published)}"
    # and the dashboards between them show every figure the issue names
    all_used = set().union(*used.values())
    for needed in [
        "drift_sentinel_drift_score",
        "drift_sentinel_feature_drift_magnitude",
        "drift_sentinel_anomalies_per_minute",
        "drift_sentinel_model_accuracy",
        "drift_sentinel_remediation_success_ratio",
        "drift_sentinel_incidents_total",
    ]:
        assert needed in all_used
