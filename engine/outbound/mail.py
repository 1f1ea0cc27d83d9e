"""Mail over SMTP, configured by the environment of the process that sends it (never by a diagram).

``VALUEFLOW_SMTP_HOST`` (no mail is sent when it is unset), ``VALUEFLOW_SMTP_PORT`` (25),
``VALUEFLOW_SMTP_USER`` and ``VALUEFLOW_SMTP_PASSWORD`` (both or neither), ``VALUEFLOW_SMTP_TLS``
(``starttls``, ``ssl`` or ``none``, the default), ``VALUEFLOW_MAIL_FROM`` (the sender's address,
``valueflow@<host>`` by default) and ``VALUEFLOW_SMTP_TIMEOUT`` (seconds, 10).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Mapping, Optional

TLS_MODES = ("none", "starttls", "ssl")


class MailNotConfigured(Exception):
    """No SMTP server is configured (``VALUEFLOW_SMTP_HOST`` is unset), or its settings are not valid."""


class MailFailed(Exception):
    """The SMTP server could not be reached, refused the login or refused the message; worth a retry later."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 25
    user: Optional[str] = None
    password: Optional[str] = None
    tls: str = "none"
    sender: str = "valueflow@localhost"
    timeout: float = 10.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "MailSettings":
        """The settings the environment gives; MailNotConfigured, saying which variable is wrong, when unusable."""
        host = environ.get("VALUEFLOW_SMTP_HOST", "").strip()
        if not host:
            raise MailNotConfigured("no SMTP server is configured: set VALUEFLOW_SMTP_HOST (and VALUEFLOW_SMTP_PORT)")
        return cls(host=host, **_checked(environ))


def check_settings(environ: Mapping[str, str]) -> None:
    """Refuse (MailNotConfigured) a malformed mail setting when a process starts, set with or without
    ``VALUEFLOW_SMTP_HOST``, rather than when its first mail is sent."""
    _checked(environ, look_up_sender=False)


def _checked(environ: Mapping[str, str], look_up_sender: bool = True) -> dict[str, Any]:
    """The settings other than the host, each checked; the sender's default (this host's name) only when
    ``look_up_sender``, as finding it may ask the DNS."""
    tls = environ.get("VALUEFLOW_SMTP_TLS", "none").strip().lower() or "none"
    if tls not in TLS_MODES:
        raise MailNotConfigured(f"VALUEFLOW_SMTP_TLS is {tls!r}; it must be one of {', '.join(TLS_MODES)}")
    user = environ.get("VALUEFLOW_SMTP_USER") or None
    password = environ.get("VALUEFLOW_SMTP_PASSWORD") or None
    if (user is None) != (password is None):
        raise MailNotConfigured("set both VALUEFLOW_SMTP_USER and VALUEFLOW_SMTP_PASSWORD, or neither")
    sender = environ.get("VALUEFLOW_MAIL_FROM", "").strip()
    if sender and "@" not in parseaddr(sender)[1]:
        raise MailNotConfigured(f"VALUEFLOW_MAIL_FROM is {sender!r}; it must be a mail address "
                                "(valueflow@example.com or Valueflow <valueflow@example.com>)")
    return {"port": _port(environ, 465 if tls == "ssl" else 25), "user": user, "password": password, "tls": tls,
            "sender": sender or (f"valueflow@{socket.getfqdn()}" if look_up_sender else ""),
            "timeout": _seconds(environ, "VALUEFLOW_SMTP_TIMEOUT", 10.0)}


def _port(environ: Mapping[str, str], default: int) -> int:
    text = environ.get("VALUEFLOW_SMTP_PORT", "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise MailNotConfigured(f"VALUEFLOW_SMTP_PORT is {text!r}; it must be a port: a whole number from 1 to 65535")
    return int(text)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise MailNotConfigured(f"{name} is {text!r}; it must be a number of seconds above 0")
    return value


def send_mail(settings: MailSettings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message to ``to``; MailFailed (with the server's or the network's reason) when not sent."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        if settings.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user is not None:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        reasons = "; ".join(f"{address}: {code} {reason.decode(errors='replace')}"
                            for address, (code, reason) in exc.recipients.items())
        raise MailFailed(f"the SMTP server refused the recipient ({reasons})") from None
    except smtplib.SMTPResponseException as exc:
        raise MailFailed(f"the SMTP server answered {exc.smtp_code} "
                         f"{exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
                         ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"could not send mail through {settings.host}:{settings.port}: {exc}") from None
