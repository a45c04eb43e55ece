"""The ways a message reaches a patient, behind one small interface (issue 14).

A channel takes an `OutgoingMessage` and either delivers it to the provider or
raises `ChannelError` (the outbox then tries again later).  A channel whose
settings are missing is off: `configured_channels` leaves it out, and the
outbox writes no messages for it.

* `SmsGateway`: one form-encoded POST to SMS_GATEWAY_URL, the body made from
  SMS_GATEWAY_BODY with {token}, {phone} (digits, no "+"), {text} and {key}
  (the message's idempotency key, for gateways that drop repeats);
  any 2xx answer is success.
* `SmtpMailer`: an e-mail with the text and an .ics invitation; its
  Message-ID is made from the idempotency key, so a repeat is recognisable.
"""
from __future__ import annotations

import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Mapping, Protocol
from urllib.parse import quote_plus

__all__ = ["Channel", "ChannelError", "OutgoingMessage", "SmsGateway", "SmtpMailer", "configured_channels"]


class ChannelError(Exception):
    """The provider did not take the message; the text says why (no patient data)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send: to whom, the words, and for e-mail a subject and a calendar file."""

    key: str
    recipient: str
    text: str
    subject: str = ""
    ics: bytes | None = None


class Channel(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> None:
        """Hand the message to the provider; raise ChannelError if it was not taken."""


@dataclass(frozen=True)
class SmsGateway:
    """SMS through an HTTP gateway that takes a form-encoded POST."""

    url: str
    token: str
    body_template: str
    timeout: float = 10
    name: str = "sms"

    def send(self, message: OutgoingMessage) -> None:
        values = {"token": self.token, "phone": message.recipient.lstrip("+"), "text": message.text, "key": message.key}
        body = self.body_template.format(**{k: quote_plus(v) for k, v in values.items()}).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"SMS gateway answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelError(f"SMS gateway unreachable: {type(reason).__name__}") from None


@dataclass(frozen=True)
class SmtpMailer:
    """E-mail over SMTP (STARTTLS when asked), with an optional .ics attachment."""

    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = True
    timeout: float = 20
    name: str = "email"

    def send(self, message: OutgoingMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        domain = self.sender.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = f"<{message.key.replace(':', '.')}@{domain}>"
        mail.set_content(message.text)
        if message.ics is not None:
            mail.add_attachment(message.ics, maintype="text", subtype="calendar", filename="visit.ics",
                                params={"method": "PUBLISH"})
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(f"SMTP server answered {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP failed: {type(exc).__name__}") from None


def configured_channels(config: Mapping[str, Any]) -> dict[str, Channel]:
    """The channels whose settings are present, by name ("sms", "email")."""
    channels: dict[str, Channel] = {}
    if config.get("SMS_GATEWAY_URL"):
        channels["sms"] = SmsGateway(
            url=config["SMS_GATEWAY_URL"],
            token=config.get("SMS_GATEWAY_TOKEN", ""),
            body_template=config["SMS_GATEWAY_BODY"],
            timeout=config.get("SMS_TIMEOUT_SECONDS", 10),
        )
    if config.get("SMTP_HOST") and config.get("SMTP_FROM"):
        channels["email"] = SmtpMailer(
            host=config["SMTP_HOST"],
            port=config["SMTP_PORT"],
            sender=config["SMTP_FROM"],
            username=config.get("SMTP_USERNAME", ""),
            password=config.get("SMTP_PASSWORD", ""),
            starttls=config.get("SMTP_STARTTLS", True),
        )
    return channels
