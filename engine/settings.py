"""The operator's settings the engine reads from the environment where it sends out of the process: mail
(engine.outbound.mail), the connectors' services (engine.outbound.http_service), the hosts webhooks may reach
(engine.outbound.destinations), and the address links start with and the zone mails tell times in
(engine.notify.messages).

Each is read when it is used, by the process that sends; ``check`` reads them all when a process starts (``valueflow
serve`` through web.settings, and ``valueflow worker``), so that a malformed one stops it at once, in one line
naming the variable and what it takes, instead of failing the first job that needs it.
"""

from __future__ import annotations

import os
from typing import Mapping

from engine.notify.messages import check_base_url, shown_zone
from engine.outbound.destinations import Allowlist, DestinationRefused
from engine.outbound.http_service import ServiceNotConfigured, check_services
from engine.outbound.mail import MailNotConfigured, check_settings


class SettingInvalid(ValueError):
    """A setting of the environment is malformed; the message names the variable and what it takes."""


def check(environ: Mapping[str, str] = os.environ) -> None:
    """Raise SettingInvalid for the first malformed setting."""
    try:
        check_settings(environ)
        check_services(environ)
        Allowlist.from_environ(environ)
        check_base_url(environ)
        shown_zone(environ)
    except (MailNotConfigured, ServiceNotConfigured, DestinationRefused, ValueError) as exc:
        raise SettingInvalid(str(exc)) from None
