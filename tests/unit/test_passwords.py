"""Passwords are stored as argon2id hashes; older scrypt hashes still let their users in and are marked for upgrade."""

from __future__ import annotations

import base64
import hashlib

import pytest

from engine import service
from engine.work import accounts
from engine.work.passwords import check_password, hash_password, needs_rehash


def scrypt_hash(password: str) -> str:
    """A hash as Valueflow stored them before argon2id."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_a_new_hash_is_argon2id_at_owasps_parameters_and_salted():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert first != second
    assert check_password("correct horse", first) and not check_password("correct hors", first)
    assert not needs_rehash(first)


def test_an_older_scrypt_hash_still_verifies_and_asks_to_be_replaced():
    stored = scrypt_hash("s3cret-pw")
    assert check_password("s3cret-pw", stored)
    assert not check_password("s3cret-pW", stored)
    assert needs_rehash(stored)


def test_an_argon2_hash_at_weaker_parameters_asks_to_be_replaced():
    from argon2 import PasswordHasher
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw-1234")
    assert check_password("pw-1234", weak)
    assert needs_rehash(weak)


@pytest.mark.parametrize("stored", ["", "plain-text", "$argon2id$v=19$broken", "scrypt$x$8$1$AA==$AA==",
                                    "md5$abc", "scrypt$16384$8$1$not base64!$AA=="])
def test_a_damaged_or_foreign_hash_never_matches_and_never_raises(stored):
    assert check_password("anything", stored) is False
    assert needs_rehash(stored)


def test_signing_in_with_an_older_hash_replaces_it_with_argon2id(new_uow):
    service.add_user(new_uow(), "old-timer", ["manager"], "s3cret-pw-1234")
    with new_uow() as uow:
        user = uow.users.by_name("old-timer")
        user.password_hash = scrypt_hash("s3cret-pw-1234")
        uow.commit()
    assert accounts.authenticate(new_uow(), "old-timer", "wrong-pw-1234") is None
    with new_uow() as uow:
        assert uow.users.by_name("old-timer").password_hash.startswith("scrypt$")  # a wrong password changes nothing
    assert accounts.authenticate(new_uow(), "old-timer", "s3cret-pw-1234").name == "old-timer"
    with new_uow() as uow:
        stored = uow.users.by_name("old-timer").password_hash
    assert stored.startswith("$argon2id$") and not needs_rehash(stored)
    assert accounts.authenticate(new_uow(), "old-timer", "s3cret-pw-1234").name == "old-timer"
