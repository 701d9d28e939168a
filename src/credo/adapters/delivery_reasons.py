"""Why a delivery failed, in plain words (docs/due-process.md, "Delivery").

What the ledger keeps in ``last_error``, and what ``credo delivery list`` and
``GET /v1/deliveries`` show: what went wrong and, where it helps, what to look
at, never an exception's bare name and never personal data (an SMTP error's
text can quote the recipient's address, so only its code is kept).
"""

from __future__ import annotations

import errno
import http.client
import smtplib
import socket
import ssl

from credo.adapters.webhook_http import DeliveryError

__all__ = ["plain_reason"]

_PEER = {"email": "the mail server", "webhook": "the receiver"}
_UNREACHABLE = {errno.ENETUNREACH: "network", errno.EHOSTUNREACH: "host"}


def plain_reason(exc: BaseException, channel: str) -> str:
    """What went wrong with one attempt to send on ``channel`` (``email`` or ``webhook``)."""
    peer = _PEER.get(channel, "the receiver")
    if isinstance(exc, DeliveryError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPException):
        return _smtp(exc)
    if isinstance(exc, socket.gaierror):
        name = "the mail server's name" if channel == "email" else "the receiver's host name"
        return f"{name} could not be resolved (DNS)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{peer}'s TLS certificate did not verify: {exc.verify_message or 'no reason given'}"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake with {peer} failed ({getattr(exc, 'reason', None) or 'no reason given'})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused: nothing accepts connections at {peer}'s address and port"
    if isinstance(exc, TimeoutError):
        return f"timed out: {peer} did not answer in time"
    if isinstance(exc, ConnectionResetError | http.client.RemoteDisconnected):
        return f"{peer} closed the connection before answering"
    if isinstance(exc, http.client.HTTPException):
        return f"{peer}'s answer was not HTTP"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        return f"the {_UNREACHABLE[exc.errno]} of {peer} is unreachable"
    return f"an unexpected failure ({type(exc).__name__})"


def _smtp(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the mail server does not offer what Credo needs: {exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the mail server closed the connection"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return f"the mail server refused the recipient's address (SMTP {', '.join(codes)})"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the mail server refused the user name or password, CREDO_SMTP_USER (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"the mail server refused the sender address, CREDO_SMTP_FROM (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPDataError):
        return f"the mail server refused the message (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"the mail server would not take a connection (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the mail server answered with an error (SMTP {exc.smtp_code})"
    return f"the mail server failed ({type(exc).__name__})"
