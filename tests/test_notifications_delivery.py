"""NotifierResource against real loopback servers: HTTP sink for Slack and PagerDuty, aiosmtpd for email."""

# ruff: noqa: F401, F811  (pytest fixtures imported by name, used as parameters)
from __future__ import annotations

import json
from pathlib import Path

import pytest

from drift_sentinel.config import AlertRouting
from drift_sentinel.notifications import Notification
from resources.notifier import NotifierResource
from tests.support.fixtures import http_sink, smtp_sink
from tests.support.servers import HttpSink, SmtpSink
from tests.support.servers import smtp_sink as start_smtp_sink

pytestmark = pytest.mark.integration

WEBHOOK_SECRET = "T000/B000/XXXXsecretXXXX"
ROUTING_KEY = "R0UTING-KEY-SECRET-0123456789"
SMTP_PASSWORD = "smtp-pa55word"
ROUTING = AlertRouting(
    critical=["pagerduty", "slack"], warning=["slack"], info=["email"], email_to=["ml@example.org"]
)


def note(severity: str = "critical", event: str = "trigger") -> Notification:
    return Notification(
        severity=severity,  # type: ignore[arg-type]
        title="Drift on fraud",
        text="amount drifted",
        model_id="fraud",
        incident_id="inc-77",
        event=event,  # type: ignore[arg-type]
        details={"drift_score": 0.5},
    )


def notifier(
    tmp_path: Path, sink: HttpSink | None = None, smtp: SmtpSink | None = None, **kw: object
) -> NotifierResource:
    config: dict[str, object] = {"outbox_path": str(tmp_path / "outbox.jsonl"), "backoff_seconds": 0.01}
    if sink is not None:
        config |= {
            "slack_webhook_url": f"{sink.url}/services/{WEBHOOK_SECRET}",
            "pagerduty_routing_key": ROUTING_KEY,
            "pagerduty_url": f"{sink.url}/v2/enqueue",
        }
    if smtp is not None:
        config |= {"smtp_host": smtp.host, "smtp_port": smtp.port}
    config |= kw
    return NotifierResource(**config)  # type: ignore[arg-type]


def test_critical_goes_to_pagerduty_and_slack_in_their_formats(tmp_path: Path, http_sink: HttpSink) -> None:
    deliveries = notifier(tmp_path, http_sink).send(note(), ROUTING)
    assert [(d.channel, d.ok, d.attempts, d.via) for d in deliveries] == [
        ("pagerduty", True, 1, "pagerduty"),
        ("slack", True, 1, "slack"),
    ]
    pd, slack = http_sink.requests
    assert pd.method == "POST" and pd.path == "/v2/enqueue"
    assert pd.headers["Content-Type"] == "application/json"
    assert pd.json["routing_key"] == ROUTING_KEY
    assert pd.json["event_action"] == "trigger" and pd.json["dedup_key"] == "inc-77"
    assert {"summary", "source", "severity", "custom_details"} <= set(pd.json["payload"])
    assert slack.path == f"/services/{WEBHOOK_SECRET}"
    assert set(slack.json) == {"text", "blocks"} and slack.json["blocks"][0]["type"] == "header"
    assert not (tmp_path / "outbox.jsonl").exists()


def test_resolve_reaches_pagerduty_with_the_same_dedup_key(tmp_path: Path, http_sink: HttpSink) -> None:
    routing = AlertRouting(critical=["pagerduty"])
    resource = notifier(tmp_path, http_sink)
    resource.send(note(), routing)
    resource.send(note(event="resolve"), routing)
    trigger, resolve = (r.json for r in http_sink.requests)
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }


def test_slack_500_is_retried_then_succeeds(tmp_path: Path, http_sink: HttpSink) -> None:
    http_sink.fail_next(2, status=500)
    (delivery,) = notifier(tmp_path, http_sink, max_attempts=3).send(note("warning"), ROUTING)
    assert delivery.ok and delivery.attempts == 3
    assert len(http_sink.requests) == 3


def test_slack_500_after_all_retries_is_reported_without_secrets(
    tmp_path: Path, http_sink: HttpSink, caplog
) -> None:
    http_sink.fail_next(10, status=500, body=f"upstream said no for {WEBHOOK_SECRET}")
    (delivery,) = notifier(tmp_path, http_sink, max_attempts=3).send(note("warning"), ROUTING)
    assert not delivery.ok and delivery.attempts == 3
    assert "HTTP 500" in (delivery.error or "")
    assert WEBHOOK_SECRET not in (delivery.error or "") and "***" in (delivery.error or "")
    assert len(http_sink.requests) == 3
    assert WEBHOOK_SECRET not in caplog.text and ROUTING_KEY not in caplog.text
    # the failure is reported (ok=False) and the notification is kept in the outbox, so nothing is lost
    (kept,) = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert kept["undelivered"] is True and kept["channel"] == "slack"
    assert kept["reason"].startswith("slack not delivered after 3 attempt(s): ConnectionError: HTTP 500")
    assert kept["notification"]["incident_id"] == "inc-77"
    assert "written to the outbox" in (delivery.note or "")
    assert WEBHOOK_SECRET not in (tmp_path / "outbox.jsonl").read_text()


def test_permanent_4xx_is_not_retried(tmp_path: Path, http_sink: HttpSink) -> None:
    http_sink.fail_next(1, status=404, body="no_service")
    (delivery,) = notifier(tmp_path, http_sink).send(note("warning"), ROUTING)
    assert not delivery.ok and delivery.attempts == 1 and "HTTP 404" in (delivery.error or "")


def test_connection_refused_is_retried_and_reported(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    resource = notifier(tmp_path, slack_webhook_url=f"{dead}/services/{WEBHOOK_SECRET}", max_attempts=2)
    (delivery,) = resource.send(note("warning"), ROUTING)
    assert not delivery.ok and delivery.attempts == 2
    assert WEBHOOK_SECRET not in (delivery.error or "")


def test_email_reaches_the_smtp_server(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    (delivery,) = notifier(tmp_path, smtp=smtp_sink, email_from="sentinel@example.org").send(
        note("info"), ROUTING
    )
    assert delivery.ok and delivery.channel == "email"
    (message,) = smtp_sink.wait_for(1)
    assert message["Subject"] == "[INFO] Drift on fraud"
    assert message["From"] == "sentinel@example.org" and message["To"] == "ml@example.org"
    assert "incident: inc-77" in message.get_content()
    assert smtp_sink.envelopes == [("sentinel@example.org", ("ml@example.org",))]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_with_login(tmp_path: Path) -> None:
    with start_smtp_sink(credentials={"sentinel": SMTP_PASSWORD}) as smtp:
        resource = notifier(tmp_path, smtp=smtp, smtp_user="sentinel", smtp_password=SMTP_PASSWORD)
        (delivery,) = resource.send(note("info"), ROUTING)
        assert delivery.ok, delivery.error
        assert smtp.logins == ["sentinel"] and len(smtp.wait_for(1)) == 1
        bad = notifier(tmp_path, smtp=smtp, smtp_user="sentinel", smtp_password="wrong-password")
        (refused,) = bad.send(note("info"), ROUTING)
        assert not refused.ok and refused.attempts == 1
        assert "wrong-password" not in (refused.error or "") and "login" in (refused.error or "")


def test_unconfigured_channels_fall_back_to_the_outbox_and_say_so(tmp_path: Path, capsys) -> None:
    resource = notifier(tmp_path)
    deliveries = resource.send(note(), ROUTING) + resource.send(note("info"), AlertRouting())
    assert [(d.channel, d.ok, d.via) for d in deliveries] == [
        ("pagerduty", True, "outbox"),
        ("slack", True, "outbox"),
        ("email", True, "outbox"),
    ]
    assert "no PagerDuty routing key configured" in (deliveries[0].note or "")
    assert "no SMTP host configured" in (deliveries[2].note or "")
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert [line["channel"] for line in lines] == ["pagerduty", "slack", "email"]
    assert lines[0]["notification"]["incident_id"] == "inc-77"
    assert "routing_key" not in lines[0]["payload"] and lines[0]["payload"]["dedup_key"] == "inc-77"
    assert lines[1]["payload"]["blocks"][0]["type"] == "header"
    assert capsys.readouterr().err.count("[drift-sentinel outbox]") == 3


def test_email_without_recipients_falls_back(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    (delivery,) = notifier(tmp_path, smtp=smtp_sink).send(note("info"), AlertRouting())
    assert delivery.ok and delivery.via == "outbox" and "no email recipients" in (delivery.note or "")
    assert smtp_sink.messages == []
