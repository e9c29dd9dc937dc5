"""A gate decision and a remediation-sensor tick with 10,000 past runs in a PostgreSQL-backed Dagster instance.

What it measures: the wall time of one :meth:`resources.safety_gate.SafetyGateResource.decide` (evidence read
from the instance, the pure policy, the verdict tag written back) and of one tick of the model's
``<prefix>_remediation_on_rca_report`` sensor (from the start of history and from a cursor near its end), with
``--runs`` remediation runs of the model (and as many rca_report materializations) already in the instance.
Next to them, the unbounded query the gate used to make (every run record of the model) for comparison.
Target: under 1 s each.

Setup: a fresh, uniquely named database on PostgreSQL at 127.0.0.1:5432 (trust auth; ``--pg-host``/``--pg-port``),
a temporary ``DAGSTER_HOME`` with ``deploy/dagster.postgres.yaml``; runs are stored directly (``add_run`` with the
tags the gate reads, in bulk), not executed. The database is dropped at the end.

Run: ``.venv/bin/python benchmarks/history_scale.py [--runs 10000] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ACTIONS = ("notify_team", "rollback_model", "scale_resources", "retrain_model")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and max wall seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def seed(instance: object, spec: object, runs: int, chunk: int = 1000) -> None:
    """``runs`` remediation runs of the model and as many rca_report materializations (no incident).

    Written in bulk to keep the setup short: runs as rows of the run storage's own tables (the values its
    ``add_run`` would write, one transaction per chunk), materializations through ``store_event_batch``.
    """
    from dagster import (
        AssetKey,
        AssetMaterialization,
        DagsterEvent,
        DagsterEventType,
        DagsterRun,
        DagsterRunStatus,
    )
    from dagster._core.events import StepMaterializationData
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
    from dagster._core.storage.runs.schema import RunsTable, RunTagsTable

    from resources.safety_gate import ACTION_TAG, GATE_TAG, INCIDENT_TAG, MODEL_TAG

    storage = instance.run_storage  # type: ignore[attr-defined]
    has_backfill_column = storage.has_backfill_id_column()  # reflected on every call: ask once
    storage.has_backfill_id_column = lambda: has_backfill_column
    key = AssetKey([spec.asset_prefix, "rca_report"])  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    for first in range(0, runs, chunk):
        rows, tag_rows, events = [], [], []
        for i in range(first, min(first + chunk, runs)):
            action = ACTIONS[i % len(ACTIONS)]
            run_id = str(uuid.uuid4())
            tags = {
                MODEL_TAG: spec.id,  # type: ignore[attr-defined]
                INCIDENT_TAG: f"inc-{i // 4:05d}",
                ACTION_TAG: action,
                GATE_TAG: "PASSED" if i % 3 else "FAILED",
            }
            run = DagsterRun(
                job_name=f"remediate_{action}", run_id=run_id, tags=tags, status=DagsterRunStatus.SUCCESS
            )
            created = now - timedelta(minutes=runs - i)
            values = storage._get_run_insertion_values(run, created)
            values.update(start_time=created.timestamp() + 1, end_time=created.timestamp() + 5)
            rows.append(values)
            tag_rows.extend({"run_id": run_id, "key": k, "value": v} for k, v in tags.items())
            materialization = AssetMaterialization(
                asset_key=key, partition=f"w{i:06d}", metadata={"incident_id": ""}
            )
            event = DagsterEvent(
                DagsterEventType.ASSET_MATERIALIZATION.value,
                job_name=RUNLESS_JOB_NAME,
                event_specific_data=StepMaterializationData(materialization),
            )
            events.append(
                EventLogEntry(
                    user_message="",
                    level=20,
                    job_name=RUNLESS_JOB_NAME,
                    run_id=RUNLESS_RUN_ID,
                    error_info=None,
                    timestamp=created.timestamp(),
                    step_key=None,
                    dagster_event=event,
                )
            )
        with storage.connect() as conn:
            conn.execute(RunsTable.insert(), rows)
            conn.execute(RunTagsTable.insert(), tag_rows)
        instance.event_log_storage.store_event_batch(events)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="2,000 runs instead of 10,000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--no-analyze", action="store_true", help="skip ANALYZE after seeding (no statistics)"
    )
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    args = parser.parse_args(argv)
    from tests.support.postgres import admin

    runs = 2_000 if args.quick else args.runs

    db = f"ds_bench_{uuid.uuid4().hex[:12]}"
    home = Path(tempfile.mkdtemp(prefix="history-scale-"))
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    os.environ.update(
        DAGSTER_HOME=str(home),
        DAGSTER_PG_HOST=args.pg_host,
        DAGSTER_PG_PORT=str(args.pg_port),
        DAGSTER_PG_USER="postgres",
        DAGSTER_PG_PASSWORD="",
        DAGSTER_PG_DB=db,
    )
    admin(f"CREATE DATABASE {db}", host=args.pg_host, port=args.pg_port)
    try:
        from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter, build_sensor_context

        from drift_sentinel.config import load_config
        from drift_sentinel.safety import SafetyPolicy
        from jobs.remediation import build_remediation_job
        from resources.safety_gate import (
            ACTION_TAG,
            INCIDENT_TAG,
            MODEL_TAG,
            ActionRequest,
            SafetyGateResource,
        )
        from sensors.remediation import build_remediation_sensor

        spec = load_config(REPO / "sentinel.yaml").models[0]
        with DagsterInstance.get() as instance:
            start = time.perf_counter()
            seed(instance, spec, runs)
            # A long-lived instance has planner statistics (autovacuum's ANALYZE); a freshly filled one has
            # none, and then PostgreSQL may pick a nested-loop plan that takes tens of seconds (``--no-analyze``).
            if not args.no_analyze:
                admin("ANALYZE", db=db, host=args.pg_host, port=args.pg_port)
            print(
                f"seeded {runs} runs + {runs} rca_report materializations in {time.perf_counter() - start:.1f} s"
            )

            run_id = str(uuid.uuid4())
            tags = {MODEL_TAG: spec.id, INCIDENT_TAG: "inc-new", ACTION_TAG: "rollback_model"}
            instance.add_run(
                DagsterRun(
                    job_name="remediate_rollback_model",
                    run_id=run_id,
                    tags=tags,
                    status=DagsterRunStatus.STARTED,
                )
            )
            gate = SafetyGateResource()

            def decide() -> None:
                gate.decide(
                    instance,
                    run_id=run_id,
                    policy=SafetyPolicy(),
                    model_id=spec.id,
                    action="rollback_model",
                    incident_id="inc-new",
                    request=ActionRequest(),
                )

            sensor = build_remediation_sensor(spec, [build_remediation_job("notify_team")])
            records = instance.fetch_materializations(
                __import__("dagster").AssetKey([spec.asset_prefix, "rca_report"]), limit=10
            ).records
            near_end = str(records[-1].storage_id)  # newest first: ten reports after this cursor

            def tick(cursor: str | None) -> Callable[[], object]:
                return lambda: sensor.evaluate_tick(
                    build_sensor_context(instance=instance, cursor=cursor, sensor_name=sensor.name)
                )

            def unbounded() -> None:
                instance.get_run_records(RunsFilter(tags={MODEL_TAG: spec.id}))

            from resources.safety_gate import GATE_TAG, HISTORY_LIMIT

            changes = ["retrain_model", "rollback_model", "scale_resources"]

            def query(filters: RunsFilter) -> Callable[[], object]:
                return lambda: instance.get_run_records(filters, limit=HISTORY_LIMIT)

            rows = [
                ("gate decision (bounded evidence)", timed(decide, args.repeat)),
                ("  this run by id", timed(query(RunsFilter(run_ids=[run_id])), args.repeat)),
                (
                    "  passed actions of the group",
                    timed(
                        query(RunsFilter(tags={MODEL_TAG: spec.id, GATE_TAG: "PASSED", ACTION_TAG: changes})),
                        args.repeat,
                    ),
                ),
                (
                    "  attempts for the incident",
                    timed(
                        query(
                            RunsFilter(
                                tags={
                                    MODEL_TAG: spec.id,
                                    INCIDENT_TAG: "inc-new",
                                    ACTION_TAG: "rollback_model",
                                    GATE_TAG: "PASSED",
                                }
                            )
                        ),
                        args.repeat,
                    ),
                ),
                (
                    "  in-progress runs of the group",
                    timed(
                        query(
                            RunsFilter(
                                tags={MODEL_TAG: spec.id, ACTION_TAG: changes},
                                statuses=[DagsterRunStatus.STARTED],
                            )
                        ),
                        args.repeat,
                    ),
                ),
                ("sensor tick, cursor at start (100 reports)", timed(tick(None), args.repeat)),
                ("sensor tick, 10 new reports", timed(tick(near_end), args.repeat)),
                ("old gate query: every run of the model", timed(unbounded, min(args.repeat, 2))),
            ]
            print(f"\n{runs} past runs of {spec.id}, PostgreSQL; load average {load()}")
            print(f"{'operation':48} {'median s':>9} {'max s':>7}")
            for name, (median, worst) in rows:
                print(f"{name:48} {median:9.3f} {worst:7.3f}")
    finally:
        admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", host=args.pg_host, port=args.pg_port)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
