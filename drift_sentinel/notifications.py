"""Notifications: what to say, to which channel, in each service's documented wire format. Pure: no I/O.

Routing follows the model's :class:`~drift_sentinel.config.AlertRouting` (default: critical →
PagerDuty and Slack, warning → Slack, info → email). Payload formats:

- Slack incoming webhooks: ``{"text": ..., "blocks": [...]}`` with Block Kit ``header``,
  ``section`` (mrkdwn text and fields) and ``context`` blocks
  (https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/block-kit/blocks).
- PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
  ``routing_key``, ``event_action`` (``trigger``/``resolve``), ``dedup_key`` (the incident id, so the
  resolve closes the alert the trigger opened) and, for triggers, ``payload`` with ``summary``
  (≤ 1024 chars), ``source``, ``severity`` (critical/error/warning/info) and ``custom_details``.
- Email: an RFC 5322 :class:`email.message.EmailMessage` (plain text).

The actual sending (with retries, an outbox fallback, and secrets kept out of every message) is the
Dagster resource ``resources.notifier.NotifierResource``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal

from drift_sentinel.config import AlertRouting
from drift_sentinel.errors import ConfigError

Severity = Literal["critical", "warning", "info"]
EventAction = Literal["trigger", "resolve"]
CHANNELS: tuple[str, ...] = ("pagerduty", "slack", "email", "outbox")

_SEVERITIES = ("critical", "warning", "info")
_EMOJI = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}
PAGERDUTY_SUMMARY_MAX = 1024


@dataclass(frozen=True)
class Notification:
    """One message about a model's incident.

    >>> n = Notification(severity="critical", title="Drift on fraud", text="3 features drifted",
    ...                  model_id="fraud", incident_id="inc-1")
    >>> route(n, AlertRouting())
    ('pagerduty', 'slack')
    >>> pagerduty_payload(n, "KEY")["dedup_key"]
    'inc-1'
    """

    severity: Severity
    title: str
    text: str
    model_id: str
    incident_id: str
    event: EventAction = "trigger"
    details: Mapping[str, Any] = field(default_factory=dict)
    links: Sequence[tuple[str, str]] = ()  # (label, url)

    def __post_init__(self) -> None:
        if self.severity not in _SEVERITIES:
            raise ConfigError(
                f"notification severity {self.severity!r}: expected one of {', '.join(_SEVERITIES)}"
            )
        if self.event not in ("trigger", "resolve"):
            raise ConfigError(f"notification event {self.event!r}: expected 'trigger' or 'resolve'")
        if not self.incident_id:
            raise ConfigError(f"notification for model {self.model_id!r} has no incident id (the dedup key)")
        object.__setattr__(self, "links", tuple((str(label), str(url)) for label, url in self.links))

    @property
    def subject(self) -> str:
        prefix = "[RESOLVED] " if self.event == "resolve" else f"[{self.severity.upper()}] "
        return f"{prefix}{self.title}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "title": self.title,
            "text": self.text,
            "model_id": self.model_id,
            "incident_id": self.incident_id,
            "event": self.event,
            "details": json.loads(json.dumps(dict(self.details), default=str)),
            "links": [list(link) for link in self.links],
        }


def route(notification: Notification, routing: AlertRouting) -> tuple[str, ...]:
    """The channels for ``notification`` (in the order configured, duplicates removed).

    A ``resolve`` goes to the same channels as the trigger it closes.

    >>> info = Notification(severity="info", title="t", text="x", model_id="m", incident_id="i")
    >>> route(info, AlertRouting())
    ('email',)
    """
    channels = getattr(routing, notification.severity)
    return tuple(dict.fromkeys(channels))


def _detail_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_detail_text(v) for v in value)
    return str(value)


def slack_payload(n: Notification, *, channel: str | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook message: fallback ``text`` plus Block Kit ``blocks``.

    >>> p = slack_payload(Notification(severity="warning", title="Drift", text="amount drifted",
    ...                                model_id="fraud", incident_id="inc-2", details={"score": 0.4123}))
    >>> p["text"]
    ':warning: [WARNING] Drift — fraud (incident inc-2)'
    >>> [b["type"] for b in p["blocks"]]
    ['header', 'section', 'section', 'context']
    """
    emoji = ":white_check_mark:" if n.event == "resolve" else _EMOJI[n.severity]
    fallback = f"{emoji} {n.subject} — {n.model_id} (incident {n.incident_id})"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{n.subject}"[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": n.text[:3000] or n.title}},
    ]
    fields = [
        {"type": "mrkdwn", "text": f"*model*\n{n.model_id}"},
        {"type": "mrkdwn", "text": f"*incident*\n{n.incident_id}"},
    ]
    fields += [
        {"type": "mrkdwn", "text": f"*{key}*\n{_detail_text(value)}"} for key, value in n.details.items()
    ]
    blocks.append({"type": "section", "fields": fields[:10]})  # Slack allows 10 fields per section
    context = [f"severity: {n.severity}", f"event: {n.event}"]
    context += [f"<{url}|{label}>" for label, url in n.links]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    payload: dict[str, Any] = {"text": fallback, "blocks": blocks}
    if channel:
        payload["channel"] = channel
    return payload


_PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def pagerduty_payload(n: Notification, routing_key: str, *, source: str = "drift-sentinel") -> dict[str, Any]:
    """A PagerDuty Events API v2 event; ``dedup_key`` is the incident id.

    >>> n = Notification(severity="critical", title="Error rate up", text="rolled back", model_id="fraud",
    ...                  incident_id="inc-3", event="resolve")
    >>> pagerduty_payload(n, "R0UT1NG")
    {'routing_key': 'R0UT1NG', 'event_action': 'resolve', 'dedup_key': 'inc-3'}
    """
    if not routing_key:
        raise ConfigError("PagerDuty routing key is empty (set it through its environment variable)")
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": n.event, "dedup_key": n.incident_id}
    if n.event == "resolve":
        return event  # a resolve carries no payload (Events API v2)
    summary = f"{n.title} — {n.model_id}: {n.text}"
    event["payload"] = {
        "summary": summary[:PAGERDUTY_SUMMARY_MAX],
        "source": f"{source}/{n.model_id}",
        "severity": _PD_SEVERITY[n.severity],
        "component": n.model_id,
        "class": "model_drift",
        "custom_details": {"incident_id": n.incident_id, "text": n.text, **n.to_dict()["details"]},
    }
    if n.links:
        event["links"] = [{"href": url, "text": label} for label, url in n.links]
    return event


def email_message(n: Notification, *, sender: str, to: Sequence[str]) -> EmailMessage:
    """A plain-text email for ``n`` from ``sender`` to ``to``.

    >>> n = Notification(severity="info", title="Weekly drift", text="all quiet", model_id="fraud",
    ...                  incident_id="inc-4")
    >>> m = email_message(n, sender="ds@example.org", to=["ml@example.org"])
    >>> m["Subject"], m["To"]
    ('[INFO] Weekly drift', 'ml@example.org')
    """
    if not to:
        raise ConfigError(f"email for model {n.model_id!r}: no recipients (alerts.email_to is empty)")
    message = EmailMessage()
    message["Subject"] = n.subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["X-Drift-Sentinel-Incident"] = n.incident_id
    lines = [n.text, "", f"model: {n.model_id}", f"incident: {n.incident_id}", f"severity: {n.severity}"]
    lines += [f"{key}: {_detail_text(value)}" for key, value in n.details.items()]
    lines += [f"{label}: {url}" for label, url in n.links]
    message.set_content("\n".join(lines) + "\n")
    return message
