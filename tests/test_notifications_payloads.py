"""Notification routing and wire formats (Slack incoming webhook, PagerDuty Events API v2, email)."""

from __future__ import annotations

import pytest

from drift_sentinel.config import AlertRouting
from drift_sentinel.errors import ConfigError
from drift_sentinel.notifications import (
    PAGERDUTY_SUMMARY_MAX,
    Notification,
    email_message,
    pagerduty_payload,
    route,
    slack_payload,
)


def note(**overrides: object) -> Notification:
    base: dict[str, object] = dict(
        severity="critical",
        title="Drift on fraud-detector-v1",
        text="amount and device_id drifted; error rate +35%",
        model_id="fraud-detector-v1",
        incident_id="inc-20260301-ab12",
        details={"drift_score": 0.61234, "features": ["amount", "device_id"]},
        links=[("RCA", "http://dagster.local/assets/rca_report")],
    )
    base.update(overrides)
    return Notification(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("severity", "channels"),
    [("critical", ("pagerduty", "slack")), ("warning", ("slack",)), ("info", ("email",))],
)
def test_default_routing_by_severity(severity: str, channels: tuple[str, ...]) -> None:
    assert route(note(severity=severity), AlertRouting()) == channels


def test_custom_routing_keeps_order_and_drops_duplicates() -> None:
    routing = AlertRouting(critical=["email", "outbox", "email"], warning=["outbox"])
    assert route(note(), routing) == ("email", "outbox")
    assert route(note(severity="warning", event="resolve"), routing) == ("outbox",)


def test_slack_payload_shape() -> None:
    payload = slack_payload(note(), channel="#ml-alerts")
    assert set(payload) == {"text", "blocks", "channel"}
    assert payload["text"].startswith(":rotating_light: [CRITICAL] Drift on fraud-detector-v1")
    header, body, fields, context = payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[CRITICAL] Drift on fraud-detector-v1", "emoji": True},
    }
    assert body["text"]["type"] == "mrkdwn" and "error rate +35%" in body["text"]["text"]
    texts = [f["text"] for f in fields["fields"]]
    assert "*incident*\ninc-20260301-ab12" in texts
    assert "*drift_score*\n0.6123" in texts and "*features*\namount, device_id" in texts
    assert all(f["type"] == "mrkdwn" for f in fields["fields"])
    assert "<http://dagster.local/assets/rca_report|RCA>" in context["elements"][0]["text"]


def test_slack_limits_fields_to_ten() -> None:
    payload = slack_payload(note(details={f"k{i}": i for i in range(20)}))
    assert len(payload["blocks"][2]["fields"]) == 10


def test_pagerduty_trigger_shape() -> None:
    event = pagerduty_payload(note(), "R0UTINGKEY")
    assert event["routing_key"] == "R0UTINGKEY"
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "inc-20260301-ab12"
    payload = event["payload"]
    assert {"summary", "source", "severity"} <= set(payload)
    assert payload["severity"] in {"critical", "error", "warning", "info"}
    assert payload["severity"] == "critical"
    assert payload["source"] == "drift-sentinel/fraud-detector-v1"
    assert payload["custom_details"]["features"] == ["amount", "device_id"]
    assert event["links"] == [{"href": "http://dagster.local/assets/rca_report", "text": "RCA"}]


def test_pagerduty_resolve_uses_the_same_dedup_key_and_no_payload() -> None:
    trigger = pagerduty_payload(note(), "K3Y1")
    resolve = pagerduty_payload(note(event="resolve"), "K3Y1")
    assert resolve == {"routing_key": "K3Y1", "event_action": "resolve", "dedup_key": trigger["dedup_key"]}


def test_pagerduty_summary_is_truncated_and_key_required() -> None:
    event = pagerduty_payload(note(text="x" * 5000), "K3Y1")
    assert len(event["payload"]["summary"]) == PAGERDUTY_SUMMARY_MAX
    with pytest.raises(ConfigError, match="routing key"):
        pagerduty_payload(note(), "")


def test_email_message() -> None:
    message = email_message(
        note(severity="info"), sender="sentinel@example.org", to=["a@example.org", "b@example.org"]
    )
    assert message["Subject"] == "[INFO] Drift on fraud-detector-v1"
    assert message["To"] == "a@example.org, b@example.org"
    assert message["X-Drift-Sentinel-Incident"] == "inc-20260301-ab12"
    body = message.get_content()
    assert "incident: inc-20260301-ab12" in body and "drift_score: 0.6123" in body
    with pytest.raises(ConfigError, match="no recipients"):
        email_message(note(), sender="s@x", to=[])


def test_resolve_subject_and_validation() -> None:
    assert note(event="resolve").subject == "[RESOLVED] Drift on fraud-detector-v1"
    with pytest.raises(ConfigError, match="'urgent'"):
        note(severity="urgent")
    with pytest.raises(ConfigError, match="dedup key"):
        note(incident_id="")
