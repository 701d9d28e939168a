"""Sending one e-mail over SMTP, encrypted with STARTTLS unless a relay on the same host is configured.

Settings come from the environment (``CREDO_SMTP_*``, docs/due-process.md, "Delivery"); they are read and
checked when a server or a pass starts, so a bad setting stops it there rather than at the first notice.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage

from credo.errors import DeliveryError, StoreError

__all__ = ["SmtpSettings", "send_email"]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 25
    starttls: bool = True
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """The settings from ``CREDO_SMTP_*``; None when no host is set (emails then wait)."""
        env = os.environ if environ is None else environ
        host = env.get("CREDO_SMTP_HOST", "").strip()
        if not host:
            return None
        sender = env.get("CREDO_SMTP_FROM", "").strip()
        if not sender:
            raise StoreError("CREDO_SMTP_FROM must name the sender address when CREDO_SMTP_HOST is set")
        port_text = env.get("CREDO_SMTP_PORT", "25").strip()
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise StoreError(f"CREDO_SMTP_PORT must be a port number, not {port_text!r}")
        starttls = env.get("CREDO_SMTP_STARTTLS", "true").strip().lower()
        if starttls not in ("true", "false"):
            raise StoreError("CREDO_SMTP_STARTTLS must be true or false")
        user = env.get("CREDO_SMTP_USER") or None
        if user and starttls == "false":
            raise StoreError("CREDO_SMTP_USER needs CREDO_SMTP_STARTTLS=true: a password is never sent in clear text")
        return SmtpSettings(host, sender, int(port_text), starttls == "true", user, env.get("CREDO_SMTP_PASSWORD"))


def send_email(settings: SmtpSettings, message: EmailMessage, timeout: float) -> None:
    """Send ``message``; a server that cannot encrypt or log in as configured is a :class:`DeliveryError`."""
    with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as server:
        if settings.starttls:
            try:
                server.starttls(context=ssl.create_default_context())
            except smtplib.SMTPNotSupportedError:
                raise DeliveryError(
                    "the mail server does not offer STARTTLS (notices are personal data: Credo sends them only "
                    "encrypted, unless CREDO_SMTP_STARTTLS=false for a relay on the same host)"
                ) from None
        if settings.user:
            try:
                server.login(settings.user, settings.password or "")
            except smtplib.SMTPNotSupportedError:
                raise DeliveryError("the mail server does not offer to log in (SMTP AUTH)") from None
        server.send_message(message)
