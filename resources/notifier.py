"""Notifications as a Dagster resource: Slack, PagerDuty Events API v2, SMTP email, and an outbox file.

``send(notification, routing)`` delivers to every channel the model's alert routing names for the
severity. A channel with no configuration (no webhook, no routing key, no SMTP host or no
recipients) falls back to the outbox — a JSON-lines file plus a console line — and says so in its
:class:`Delivery`. HTTP and SMTP deliveries are retried with exponential backoff
(``backoff_seconds * 2**(attempt-1)``) on connection errors, 429 and 5xx; a failure after the last
attempt is returned (``ok=False``), never swallowed, and the job decides what to do with it; the notification
is then also kept in the outbox (``"undelivered": true``), so nothing is lost while a channel is down.

Secrets (the webhook URL, the routing key, the SMTP password) are plain fields here; wire them with
``EnvVar`` at the composition root so they stay out of run config. They never appear in errors, logs or
the outbox: every error text is scrubbed of them and the outbox stores payloads without them.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dagster import ConfigurableResource, get_dagster_logger

from drift_sentinel.config import AlertRouting
from drift_sentinel.notifications import Notification, email_message, pagerduty_payload, route, slack_payload

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
_OUTBOX_LOCK = threading.Lock()


@dataclass(frozen=True)
class Delivery:
    """What happened on one channel: ``via`` is ``"outbox"`` when the channel fell back to it."""

    channel: str
    ok: bool
    attempts: int
    error: str | None = None
    via: str = ""
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ok": self.ok,
            "attempts": self.attempts,
            "error": self.error,
            "via": self.via or self.channel,
            "note": self.note,
        }


class _Permanent(Exception):
    """A failure that retrying will not fix (e.g. 400/403/404)."""


class NotifierResource(ConfigurableResource):
    """Deliver notifications to Slack, PagerDuty, email and the outbox, with retries and fallbacks."""

    outbox_path: str
    slack_webhook_url: str | None = None
    pagerduty_routing_key: str | None = None
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str = "drift-sentinel@localhost"
    max_attempts: int = 3
    backoff_seconds: float = 0.5
    timeout_seconds: float = 10.0

    # ------------------------------------------------------------------------------------------ public

    def send(self, notification: Notification, routing: AlertRouting) -> tuple[Delivery, ...]:
        """Deliver ``notification`` on every channel ``routing`` names for its severity."""
        deliveries = []
        for channel in route(notification, routing):
            if channel == "slack":
                delivery = self._slack(notification, routing)
            elif channel == "pagerduty":
                delivery = self._pagerduty(notification)
            elif channel == "email":
                delivery = self._email(notification, routing)
            else:
                delivery = self._to_outbox(notification, channel, reason="outbox is a routed channel")
            deliveries.append(delivery)
            self._log(notification, delivery)
        return tuple(deliveries)

    # ------------------------------------------------------------------------------------------ channels

    def _slack(self, n: Notification, routing: AlertRouting) -> Delivery:
        payload = slack_payload(n, channel=routing.slack_channel)
        if not self.slack_webhook_url:
            return self._to_outbox(n, "slack", reason="no Slack webhook configured", payload=payload)
        return self._retry(n, "slack", lambda: self._post(self.slack_webhook_url or "", payload), payload)

    def _pagerduty(self, n: Notification) -> Delivery:
        if not self.pagerduty_routing_key:
            payload = pagerduty_payload(n, "<not configured>")
            payload.pop("routing_key")
            return self._to_outbox(
                n, "pagerduty", reason="no PagerDuty routing key configured", payload=payload
            )
        payload = pagerduty_payload(n, self.pagerduty_routing_key)
        kept = {k: v for k, v in payload.items() if k != "routing_key"}
        return self._retry(n, "pagerduty", lambda: self._post(self.pagerduty_url, payload), kept)

    def _email(self, n: Notification, routing: AlertRouting) -> Delivery:
        if not self.smtp_host:
            return self._to_outbox(n, "email", reason="no SMTP host configured")
        if not routing.email_to:
            return self._to_outbox(n, "email", reason="no email recipients (alerts.email_to is empty)")
        message = email_message(n, sender=self.email_from, to=routing.email_to)
        return self._retry(n, "email", lambda: self._smtp(message))

    # ------------------------------------------------------------------------------------------ transport

    def _post(self, url: str, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "drift-sentinel"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read(300).decode(errors="replace").strip()
            text = f"HTTP {exc.code} from {urlsplit(url).hostname}: {body}"
            if exc.code in _RETRY_STATUS:
                raise ConnectionError(text) from None
            raise _Permanent(text) from None

    def _smtp(self, message: Any) -> None:
        smtp_class = smtplib.SMTP_SSL if self.smtp_port == 465 else smtplib.SMTP
        try:
            with smtp_class(self.smtp_host or "", self.smtp_port, timeout=self.timeout_seconds) as smtp:
                smtp.ehlo()
                if smtp_class is smtplib.SMTP and smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.smtp_user:
                    smtp.login(self.smtp_user, self.smtp_password or "")
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise _Permanent(f"SMTP login as {self.smtp_user!r} refused ({exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise _Permanent(f"SMTP recipients refused: {', '.join(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise ConnectionError(f"SMTP {exc.smtp_code} (temporary)") from None
            raise _Permanent(f"SMTP {exc.smtp_code}") from None

    def _retry(
        self,
        n: Notification,
        channel: str,
        attempt: Callable[[], None],
        payload: dict[str, Any] | None = None,
    ) -> Delivery:
        """Try ``attempt`` up to ``max_attempts`` times with exponential backoff; after the last failure the
        notification is kept in the outbox (nothing is lost) and the delivery says so (``ok`` stays False)."""
        attempts = 0
        error: str | None = None
        for attempts in range(1, max(1, self.max_attempts) + 1):  # noqa: B007
            try:
                attempt()
                return Delivery(channel=channel, ok=True, attempts=attempts, via=channel)
            except _Permanent as exc:
                error = self._scrub(str(exc))
                break
            except (OSError, smtplib.SMTPException) as exc:  # ConnectionError, URLError, timeouts
                error = self._scrub(f"{type(exc).__name__}: {exc}")
                if attempts < self.max_attempts:
                    time.sleep(self.backoff_seconds * 2 ** (attempts - 1))
        reason = f"{channel} not delivered after {attempts} attempt(s): {error}"
        kept = self._to_outbox(n, channel, reason=reason, payload=payload, undelivered=True)
        note = kept.note if kept.ok else f"NOT kept in the outbox: {kept.error}"
        return Delivery(channel=channel, ok=False, attempts=attempts, error=error, via=channel, note=note)

    # ------------------------------------------------------------------------------------------ outbox

    def _to_outbox(
        self,
        n: Notification,
        channel: str,
        *,
        reason: str,
        payload: dict[str, Any] | None = None,
        undelivered: bool = False,
    ) -> Delivery:
        entry = {
            "at": datetime.now(UTC).isoformat(),
            "channel": channel,
            "reason": reason,
            "notification": n.to_dict(),
            "payload": payload,
            "undelivered": undelivered,
        }
        line = self._scrub(json.dumps(entry, sort_keys=True, default=str))
        path = Path(self.outbox_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _OUTBOX_LOCK, open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            return Delivery(
                channel, ok=False, attempts=1, error=f"outbox {path}: {exc}", via="outbox", note=reason
            )
        print(
            f"[drift-sentinel outbox] {channel}: {n.subject} — {n.model_id} ({n.incident_id})",
            file=sys.stderr,
        )
        note = reason if channel == "outbox" else f"{reason}; written to the outbox {path}"
        return Delivery(channel=channel, ok=True, attempts=1, via="outbox", note=note)

    # ------------------------------------------------------------------------------------------ secrecy

    def _secrets(self) -> list[str]:
        values = [self.pagerduty_routing_key, self.smtp_password]
        if self.slack_webhook_url:
            parts = urlsplit(self.slack_webhook_url)
            values += [
                self.slack_webhook_url,
                parts.path,
                *[p for p in parts.path.split("/") if len(p) >= 6 and p != "services"],
            ]
        return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return text

    def _log(self, n: Notification, d: Delivery) -> None:
        log = get_dagster_logger()
        where = f"via {d.via}" if d.via and d.via != d.channel else ""
        message = f"notify {d.channel} {where} for {n.model_id} {n.incident_id}: " + (
            f"ok after {d.attempts} attempt(s)"
            if d.ok
            else f"FAILED after {d.attempts} attempt(s): {d.error}"
        )
        (log.info if d.ok else log.error)(self._scrub(message))
