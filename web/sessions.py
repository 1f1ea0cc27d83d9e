"""The session cookie: Flask's signed cookie session, with its signing serializer made once per set of keys.

Flask builds the serializer anew each time it opens and each time it saves a session, twice a request; it holds
no state between calls, so one per set of keys (``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``) serves every
request and thread alike.
"""

from __future__ import annotations

from typing import Optional

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SigningKeptSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], Optional[URLSafeTimedSerializer]] = {}

    def get_signing_serializer(self, app: Flask) -> Optional[URLSafeTimedSerializer]:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        found = self._serializers.get(keys)
        if found is None:
            found = self._serializers[keys] = super().get_signing_serializer(app)
        return found
