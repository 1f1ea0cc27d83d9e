"""The operator's settings (``VALUEFLOW_*`` variables or ``instance/config.py``), checked when the app is built.

A malformed value stops the app with one line naming the variable and what it takes, before any process
listens, instead of failing every request that reads it or being read as something else (``"no"`` is a
true string to Flask, a negative hop count trusts no proxy). The settings the engine reads from the
environment where it sends (mail, connectors, webhooks, links) are checked with them (engine.settings).
"""

from __future__ import annotations

import re
from typing import Any, MutableMapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine import settings as engine_settings

CURRENCY_CODE = re.compile("[A-Z]{3}")


def check(config: MutableMapping[str, Any]) -> None:
    """Raise ValueError naming the first malformed setting; a single fallback key becomes a list of one."""
    try:
        ZoneInfo(config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        _refuse(config, "TIMEZONE", "is not a time zone (e.g. UTC or Europe/Amsterdam)")
    _whole_number(config, "PROXY_HOPS", least=0)
    _whole_number(config, "MAX_CONTENT_LENGTH", least=1)
    _whole_number(config, "PER_PAGE", least=1)
    currency = config["CURRENCY"]
    if currency is not None and not (isinstance(currency, str) and CURRENCY_CODE.fullmatch(currency)):
        _refuse(config, "CURRENCY", "is not a currency code: three capital letters (ISO 4217, e.g. EUR or USD)")
    for name in ("SESSION_COOKIE_SECURE", "ACCESS_LOG"):
        if not isinstance(config[name], bool):
            _refuse(config, name, "is not true or false")
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, str):
        fallbacks = [fallbacks]
    if not isinstance(fallbacks, list) or not all(isinstance(key, str) and key for key in fallbacks):
        _refuse(config, "SECRET_KEY_FALLBACKS", 'is not a key or a JSON list of keys (["old-key", ...])')
    config["SECRET_KEY_FALLBACKS"] = fallbacks
    engine_settings.check()


def _whole_number(config: MutableMapping[str, Any], name: str, least: int) -> None:
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        _refuse(config, name, f"is not a whole number from {least} up")


def _refuse(config: MutableMapping[str, Any], name: str, problem: str) -> None:
    raise ValueError(f"VALUEFLOW_{name} {config.get(name)!r} {problem}") from None
