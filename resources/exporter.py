"""Prometheus exporter: the figures of the loop, read from the Dagster instance.

``drift-sentinel exporter --port 9464`` serves ``/metrics`` (Prometheus text format, built by a custom
prometheus-client collector on every scrape) and ``/health`` (the JSON of
:func:`resources.health.check_health`).

Nothing is pushed to the exporter: on each scrape the collector reads the latest materialization metadata of
every monitored model's assets (``[<asset_prefix>, current_window | drift_report | rca_report |
signal_anomalies | performance_report]``) and the remediation runs (jobs ``remediate_<action>`` tagged
``sentinel/model``, ``sentinel/incident``, ``sentinel/action``) from the instance's storage — SQLite on one
machine, PostgreSQL in production — so any number of replicas, restarts and backfills give the same numbers.

Metric names are listed in :data:`METRICS`; ``deploy/prometheus/alert_rules.yml`` and the Grafana
dashboards in ``deploy/grafana/`` use exactly these (a test checks it).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from drift_sentinel.config import load_config

PREFIX = "drift_sentinel_"

#: Every metric family the exporter publishes: name -> (type, help). Counters are exposed with ``_total``.
METRICS: dict[str, tuple[str, str]] = {
    "drift_sentinel_up": ("gauge", "1 when the last scrape could read the Dagster instance, else 0."),
    "drift_sentinel_scrape_duration_seconds": (
        "gauge",
        "Seconds the last scrape took.",
    ),
    "drift_sentinel_drift_score": ("gauge", "drift_score of the latest drift_report partition."),
    "drift_sentinel_drift_detected": ("gauge", "1 when the latest drift_report confirmed drift, else 0."),
    "drift_sentinel_drifted_features": (
        "gauge",
        "Drifted features (n_drifted) in the latest report.",
    ),
    "drift_sentinel_feature_drift_magnitude": ("gauge", "Per-feature drift magnitude in the latest report."),
    "drift_sentinel_model_accuracy": (
        "gauge",
        "Realized accuracy of the newest window with enough labels (performance_report; else current_window).",
    ),
    "drift_sentinel_model_accuracy_estimated": (
        "gauge",
        "CBPE-estimated accuracy of the newest window (before its labels arrive).",
    ),
    "drift_sentinel_model_accuracy_estimated_lower": (
        "gauge",
        "Lower end of the estimated accuracy's interval.",
    ),
    "drift_sentinel_model_accuracy_estimated_upper": (
        "gauge",
        "Upper end of the estimated accuracy's interval.",
    ),
    "drift_sentinel_model_roc_auc": ("gauge", "Realized ROC AUC of the newest window with enough labels."),
    "drift_sentinel_model_roc_auc_estimated": ("gauge", "CBPE-estimated ROC AUC of the newest window."),
    "drift_sentinel_labelled_fraction": (
        "gauge",
        "Share of the newest window's rows whose label has arrived.",
    ),
    "drift_sentinel_performance_breach": (
        "gauge",
        "1 when the newest performance_report breaches the model's performance minimum, else 0.",
    ),
    "drift_sentinel_error_rate": ("gauge", "Error rate of the latest current_window."),
    "drift_sentinel_latency_p95_ms": ("gauge", "95th percentile latency (ms) of the latest current_window."),
    "drift_sentinel_window_rows": ("gauge", "Rows in the latest current_window."),
    "drift_sentinel_signal_anomalies": ("gauge", "Signal anomalies (n_anomalies) in the latest window."),
    "drift_sentinel_anomalies_per_minute": ("gauge", "Signal anomalies per minute of the latest window."),
    "drift_sentinel_rca_confidence": ("gauge", "Confidence of the latest root-cause report."),
    "drift_sentinel_rca_info": (
        "gauge",
        "Root cause and recommended action of the latest RCA (1).",
    ),
    "drift_sentinel_last_materialization_timestamp_seconds": (
        "gauge",
        "Unix time of the newest materialization of each monitored asset.",
    ),
    "drift_sentinel_incidents": ("counter", "Distinct incident ids seen in drift_report materializations."),
    "drift_sentinel_open_incidents": ("gauge", "Incidents without a successful remediation run."),
    "drift_sentinel_remediation_runs": ("counter", "Remediation runs by model, action and status."),
    "drift_sentinel_remediation_success_ratio": (
        "gauge",
        "Successful / finished remediation runs (success, failure, canceled) per model.",
    ),
    "drift_sentinel_last_remediation_success_timestamp_seconds": (
        "gauge",
        "Unix time the last successful remediation run of each action ended.",
    ),
}

ASSETS = ("current_window", "drift_report", "rca_report", "signal_anomalies", "performance_report")
REMEDIATION_JOB_PREFIX = "remediate_"
_STATUS = {
    DagsterRunStatus.SUCCESS: "success",
    DagsterRunStatus.FAILURE: "failure",
    DagsterRunStatus.CANCELED: "canceled",
    DagsterRunStatus.CANCELING: "canceled",
    DagsterRunStatus.QUEUED: "queued",
    DagsterRunStatus.NOT_STARTED: "queued",
    DagsterRunStatus.STARTING: "running",
    DagsterRunStatus.STARTED: "running",
}


@dataclass(frozen=True)
class ModelRef:
    """A monitored model as the exporter sees it: its id (``sentinel/model`` tag) and asset-key prefix."""

    model_id: str
    asset_prefix: str

    def __post_init__(self) -> None:
        if not self.model_id or not self.asset_prefix:
            raise ValueError("ModelRef needs a non-empty model_id and asset_prefix")


def models_from_config(path: str | None = None) -> list[ModelRef]:
    """The monitored models of ``sentinel.yaml`` (or ``$SENTINEL_CONFIG`` / ``path``)."""
    return [ModelRef(m.id, m.asset_prefix) for m in load_config(path).models]


@dataclass
class _IncidentState:
    cursor: str | None = None
    incidents: set[str] = field(default_factory=set)


def _value(metadata: Mapping[str, Any], key: str) -> Any:
    raw = metadata.get(key)
    return getattr(raw, "value", raw)


def _number(metadata: Mapping[str, Any], key: str) -> float | None:
    value = _value(metadata, key)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and not math.isnan(float(value)):
        return float(value)
    return None


def _text(metadata: Mapping[str, Any], key: str) -> str | None:
    value = _value(metadata, key)
    return str(value) if value is not None else None


class SentinelCollector(Collector):
    """A prometheus-client collector that reads the Dagster instance on every scrape.

    Parameters
    ----------
    instance:
        The Dagster instance, or ``None`` for ``DagsterInstance.get()`` (``$DAGSTER_HOME``), opened on the
        first scrape and re-tried on the next scrape when it fails (``drift_sentinel_up`` is then 0).
    models:
        The monitored models; ``None`` reads them from the config file (``$SENTINEL_CONFIG``).
    history:
        How many of the newest materializations per asset are considered when picking the latest partition
        (backfills materialize old partitions after new ones).
    """

    def __init__(
        self,
        *,
        instance: DagsterInstance | None = None,
        models: Sequence[ModelRef] | None = None,
        history: int = 200,
    ) -> None:
        if history < 1:
            raise ValueError(f"history must be >= 1, got {history}")
        self._instance = instance
        self._models = list(models) if models is not None else models_from_config()
        self._history = history
        self._incidents: dict[str, _IncidentState] = {}
        self._lock = threading.Lock()

    @property
    def models(self) -> list[ModelRef]:
        return list(self._models)

    def instance(self) -> DagsterInstance:
        """The Dagster instance (opened on first use)."""
        if self._instance is None:
            self._instance = DagsterInstance.get()
        return self._instance

    def describe(self) -> Iterable[Metric]:
        return []  # no scrape at registration time

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        families = _Families()
        up = 1.0
        with self._lock:
            try:
                instance = self.instance()
                for model in self._models:
                    self._collect_model(instance, model, families)
            except Exception as exc:  # storage down: report it as a metric, never crash the scrape
                up = 0.0
                families = _Families()
                print(f"drift-sentinel exporter: cannot read the Dagster instance: {exc}", file=sys.stderr)
        families.gauge("drift_sentinel_up", {}, up)
        families.gauge("drift_sentinel_scrape_duration_seconds", {}, time.monotonic() - started)
        yield from families.metrics()

    # -- one model ------------------------------------------------------------------------------------
    def _latest(self, instance: DagsterInstance, key: AssetKey) -> tuple[Mapping[str, Any], float] | None:
        """Metadata of the newest partition among the recent materializations, and the newest timestamp."""
        records = instance.fetch_materializations(key, limit=self._history).records
        return self._newest_of(records)

    @staticmethod
    def _newest_of(records: Sequence[Any]) -> tuple[Mapping[str, Any], float] | None:
        if not records:
            return None
        newest_time = max(r.timestamp for r in records)
        # records are newest first: max() keeps the first (newest) record of the greatest partition key
        best = max(records, key=lambda r: r.partition_key or "")
        materialization = best.asset_materialization
        metadata = dict(materialization.metadata) if materialization is not None else {}
        return metadata, newest_time

    def _collect_model(self, instance: DagsterInstance, model: ModelRef, out: _Families) -> None:
        labels = {"model": model.model_id}
        latest = {name: self._latest(instance, AssetKey([model.asset_prefix, name])) for name in ASSETS}
        for name, found in latest.items():
            if found is not None:
                out.gauge(
                    "drift_sentinel_last_materialization_timestamp_seconds",
                    {**labels, "asset": name},
                    found[1],
                )

        if latest["drift_report"] is not None:
            md = latest["drift_report"][0]
            out.gauge("drift_sentinel_drift_score", labels, _number(md, "drift_score"))
            out.gauge("drift_sentinel_drift_detected", labels, _number(md, "drift_detected"))
            out.gauge("drift_sentinel_drifted_features", labels, _number(md, "n_drifted"))
            for key in sorted(md):
                if key.startswith("feature_magnitude/"):
                    feature = key.split("/", 1)[1]
                    out.gauge(
                        "drift_sentinel_feature_drift_magnitude",
                        {**labels, "feature": feature},
                        _number(md, key),
                    )

        performance = self._performance(instance, model, out)
        if latest["current_window"] is not None:
            md = latest["current_window"][0]
            if not performance:  # a model without performance_report: the window's labelled accuracy
                out.gauge("drift_sentinel_model_accuracy", labels, _number(md, "accuracy"))
            out.gauge("drift_sentinel_error_rate", labels, _number(md, "error_rate"))
            out.gauge("drift_sentinel_latency_p95_ms", labels, _number(md, "latency_p95_ms"))
            out.gauge("drift_sentinel_window_rows", labels, _number(md, "dagster/row_count"))

        if latest["signal_anomalies"] is not None:
            md = latest["signal_anomalies"][0]
            n = _number(md, "n_anomalies")
            minutes = _number(md, "window_minutes")
            out.gauge("drift_sentinel_signal_anomalies", labels, n)
            if n is not None and minutes:
                out.gauge("drift_sentinel_anomalies_per_minute", labels, n / minutes)

        if latest["rca_report"] is not None:
            md = latest["rca_report"][0]
            out.gauge("drift_sentinel_rca_confidence", labels, _number(md, "confidence"))
            cause, action = _text(md, "root_cause"), _text(md, "recommended_action")
            if cause is not None or action is not None:
                out.gauge(
                    "drift_sentinel_rca_info",
                    {**labels, "root_cause": cause or "", "recommended_action": action or ""},
                    1.0,
                )

        incidents = self._incident_ids(instance, model)
        out.counter("drift_sentinel_incidents", labels, float(len(incidents)))

        counts: dict[tuple[str, str], int] = {}
        last_success: dict[str, float] = {}
        remediated: set[str] = set()
        for record in self._remediation_runs(instance, model):
            run = record.dagster_run
            action = run.tags.get("sentinel/action") or run.job_name[len(REMEDIATION_JOB_PREFIX) :]
            status = _STATUS.get(run.status, run.status.value.lower())
            counts[(action, status)] = counts.get((action, status), 0) + 1
            if run.status == DagsterRunStatus.SUCCESS:
                if run.tags.get("sentinel/incident"):
                    remediated.add(run.tags["sentinel/incident"])
                ended = record.end_time or record.update_timestamp.timestamp()
                last_success[action] = max(last_success.get(action, 0.0), ended)
        for (action, status), n in sorted(counts.items()):
            out.counter("drift_sentinel_remediation_runs", {**labels, "action": action, "status": status}, n)
        finished = sum(n for (_, status), n in counts.items() if status in ("success", "failure", "canceled"))
        if finished:
            successes = sum(n for (_, status), n in counts.items() if status == "success")
            out.gauge("drift_sentinel_remediation_success_ratio", labels, successes / finished)
        for action, ended in sorted(last_success.items()):
            out.gauge(
                "drift_sentinel_last_remediation_success_timestamp_seconds",
                {**labels, "action": action},
                ended,
            )
        out.gauge("drift_sentinel_open_incidents", labels, float(len(incidents - remediated)))

    def _performance(self, instance: DagsterInstance, model: ModelRef, out: _Families) -> bool:
        """Realized figures from the newest window that has them (labels arrive late, so the newest window
        often has none yet), estimated ones and the breach flag from the newest window. False without reports."""
        key = AssetKey([model.asset_prefix, "performance_report"])
        records = instance.fetch_materializations(key, limit=self._history).records
        newest = self._newest_of(records)
        if newest is None:
            return False
        labels = {"model": model.model_id}
        md = newest[0]
        for family, name in (
            ("drift_sentinel_model_accuracy_estimated", "accuracy_estimated"),
            ("drift_sentinel_model_accuracy_estimated_lower", "accuracy_estimated_lower"),
            ("drift_sentinel_model_accuracy_estimated_upper", "accuracy_estimated_upper"),
            ("drift_sentinel_model_roc_auc_estimated", "roc_auc_estimated"),
            ("drift_sentinel_labelled_fraction", "labelled_fraction"),
        ):
            out.gauge(family, labels, _number(md, name))
        verdict = _text(md, "verdict")
        if verdict is not None:
            out.gauge("drift_sentinel_performance_breach", labels, 1.0 if verdict == "FAILED" else 0.0)
        by_partition: dict[str, Mapping[str, Any]] = {}
        for record in records:  # newest first: the first record of a partition is its latest
            if record.partition_key not in by_partition and record.asset_materialization is not None:
                by_partition[record.partition_key or ""] = record.asset_materialization.metadata
        for family, name in (
            ("drift_sentinel_model_accuracy", "accuracy"),
            ("drift_sentinel_model_roc_auc", "roc_auc"),
        ):
            found = (_number(by_partition[p], name) for p in sorted(by_partition, reverse=True))
            out.gauge(family, labels, next((v for v in found if v is not None), None))
        return True

    def _incident_ids(self, instance: DagsterInstance, model: ModelRef) -> set[str]:
        """Every incident id in the model's drift reports, read incrementally (a cursor per model)."""
        state = self._incidents.setdefault(model.model_id, _IncidentState())
        key = AssetKey([model.asset_prefix, "drift_report"])
        while True:
            result = instance.fetch_materializations(key, limit=1000, cursor=state.cursor, ascending=True)
            for record in result.records:
                materialization = record.asset_materialization
                incident = _text(materialization.metadata, "incident_id") if materialization else None
                if incident:
                    state.incidents.add(incident)
            if result.records:
                state.cursor = result.cursor
            if not result.has_more:
                return set(state.incidents)

    def _remediation_runs(self, instance: DagsterInstance, model: ModelRef) -> list[Any]:
        """Run records of the model's remediation jobs (tagged with the model id or its asset prefix)."""
        seen: dict[str, Any] = {}
        for value in dict.fromkeys([model.model_id, model.asset_prefix]):
            for record in instance.get_run_records(filters=RunsFilter(tags={"sentinel/model": value})):
                if record.dagster_run.job_name.startswith(REMEDIATION_JOB_PREFIX):
                    seen[record.dagster_run.run_id] = record
        return list(seen.values())


class _Families:
    """Collects samples per family name, in the order of :data:`METRICS`."""

    def __init__(self) -> None:
        self._samples: dict[str, list[tuple[dict[str, str], float]]] = {}

    def gauge(self, name: str, labels: Mapping[str, str], value: float | None) -> None:
        self._add(name, "gauge", labels, value)

    def counter(self, name: str, labels: Mapping[str, str], value: float | None) -> None:
        self._add(name, "counter", labels, value)

    def _add(self, name: str, kind: str, labels: Mapping[str, str], value: float | None) -> None:
        if METRICS[name][0] != kind:
            raise ValueError(f"metric {name} is a {METRICS[name][0]}, not a {kind}")
        if value is None:
            return
        self._samples.setdefault(name, []).append((dict(labels), float(value)))

    def metrics(self) -> Iterator[Metric]:
        for name, (kind, help_text) in METRICS.items():
            samples = self._samples.get(name)
            if not samples:
                continue
            label_names = sorted({k for labels, _ in samples for k in labels})
            family: GaugeMetricFamily | CounterMetricFamily
            if kind == "counter":
                family = CounterMetricFamily(name, help_text, labels=label_names)
            else:
                family = GaugeMetricFamily(name, help_text, labels=label_names)
            for labels, value in samples:
                family.add_metric([labels.get(k, "") for k in label_names], value)
            yield family


# -- HTTP ---------------------------------------------------------------------------------------------
class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass


def make_app(
    collector: SentinelCollector, *, health: Callable[[], Mapping[str, Any]] | None = None
) -> Callable[..., Iterable[bytes]]:
    """The WSGI app: ``/metrics`` from ``collector`` and ``/health`` as JSON (503 unless healthy)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    metrics_app = make_wsgi_app(registry)

    def default_health() -> Mapping[str, Any]:
        from resources.health import check_health

        return check_health(instance=collector.instance()).to_dict()

    health_fn = health or default_health

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in ("/metrics", "/"):
            return metrics_app(environ, start_response)
        if path == "/health":
            report = dict(health_fn())
            body = json.dumps(report, sort_keys=True).encode()
            status = "200 OK" if report.get("status") == "healthy" else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /health\n"]

    return app


def serve(
    collector: SentinelCollector, *, host: str = "127.0.0.1", port: int = 9464
) -> tuple[WSGIServer, threading.Thread]:
    """Serve :func:`make_app` on ``host:port`` in a daemon thread; ``server.shutdown()`` stops it.

    ``port=0`` picks a free port (``server.server_port``).
    """
    server = make_server(
        host, port, make_app(collector), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="drift-sentinel-exporter", daemon=True)
    thread.start()
    return server, thread


# -- CLI ----------------------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    models = models_from_config(args.config)
    collector = SentinelCollector(models=models, history=args.history)
    server, thread = serve(collector, host=args.host, port=args.port)
    print(
        f"drift-sentinel exporter: serving {len(models)} model(s) on "
        f"http://{args.host}:{server.server_port}/metrics (and /health)",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``drift-sentinel exporter`` to the CLI (entry point ``resources.exporter:register``)."""
    parser = subparsers.add_parser(
        "exporter",
        help="serve Prometheus metrics read from the Dagster instance",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9464, help="port to bind (default 9464; 0 = any)")
    parser.add_argument("--config", default=None, help="monitored-models file (default $SENTINEL_CONFIG)")
    parser.add_argument("--history", type=int, default=200, help="recent materializations read per asset")
    parser.set_defaults(func=_run)
