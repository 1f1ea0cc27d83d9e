"""Password hashes: argon2id (argon2-cffi) at OWASP's recommended parameters.

Hashes made before, with the standard library's scrypt, still verify;
``needs_rehash`` tells the sign-in to replace them, and any argon2 hash made
with other parameters, with a current one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane (about 35 ms here).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    """A salted argon2id hash in the PHC string format (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``)."""
    return _HASHER.hash(password)


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, an argon2 hash or an older ``scrypt$n$r$p$salt$hash``."""
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    return _check_scrypt(password, stored)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` is not an argon2id hash at the current parameters."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _check_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                   maxmem=2**28)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))
