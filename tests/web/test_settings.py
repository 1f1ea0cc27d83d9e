"""An operator's settings: a malformed one stops the app with a line naming it; a retired signing key keeps
people signed in while it is listed in VALUEFLOW_SECRET_KEY_FALLBACKS."""

from __future__ import annotations

import pytest

from tests.unit.test_cli import SENDING_SETTINGS
from tests.web.conftest import Auth, copy_database
from web import create_app


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("PROXY_HOPS", "one", "'one' is not a whole number from 0 up"),
    ("PROXY_HOPS", "-1", "-1 is not a whole number from 0 up"),
    ("MAX_CONTENT_LENGTH", "1MB", "'1MB' is not a whole number from 1 up"),
    ("PER_PAGE", "0", "0 is not a whole number from 1 up"),
    ("SESSION_COOKIE_SECURE", "yes", "'yes' is not true or false"),
    ("SESSION_COOKIE_SECURE", "False", "'False' is not true or false"),
    ("ACCESS_LOG", "no", "'no' is not true or false"),
    ("SECRET_KEY_FALLBACKS", "[1]", "[1] is not a key or a JSON list of keys"),
    ("TIMEZONE", "Mars/Base", "'Mars/Base' is not a time zone"),
    ("CURRENCY", "eur", "'eur' is not a currency code: three capital letters (ISO 4217"),
    ("CURRENCY", "EURO", "'EURO' is not a currency code"),
    ("CURRENCY", "€", "'€' is not a currency code"),
    ("CURRENCY", "", "'' is not a currency code"),
    ("CURRENCY", "978", "978 is not a currency code"),
])
def test_a_malformed_setting_stops_the_app_naming_the_variable(tmp_path, monkeypatch, name, value, problem):
    monkeypatch.setenv(f"VALUEFLOW_{name}", value)
    with pytest.raises(ValueError) as refused:
        create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}"})
    assert str(refused.value).startswith(f"VALUEFLOW_{name} {problem}")


@pytest.mark.parametrize(("name", "value", "problem"), SENDING_SETTINGS)
def test_a_malformed_setting_of_what_the_workers_send_stops_the_app_naming_the_variable(tmp_path, monkeypatch, name,
                                                                                       value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as refused:
        create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}"})
    assert str(refused.value) == problem


@pytest.mark.parametrize("fallbacks", ['old-key', '["older-key", "old-key"]'], ids=["one key", "a JSON list"])
def test_a_rotated_secret_key_keeps_people_signed_in_while_the_old_one_is_a_fallback(seeded_database, tmp_path,
                                                                                        monkeypatch, fallbacks):
    url = copy_database(seeded_database, tmp_path)
    before = create_app({"TESTING": True, "SECRET_KEY": "old-key", "DATABASE_URL": url})
    client = before.test_client()
    Auth(client).login("manager")
    assert client.get("/inbox").status_code == 200
    before.extensions["valueflow"].dispose()

    monkeypatch.setenv("VALUEFLOW_SECRET_KEY", "new-key")
    monkeypatch.setenv("VALUEFLOW_SECRET_KEY_FALLBACKS", fallbacks)
    after = create_app({"TESTING": True, "DATABASE_URL": url})
    client.application = after
    try:
        assert client.get("/inbox").status_code == 200
        monkeypatch.delenv("VALUEFLOW_SECRET_KEY_FALLBACKS")
        client.application = retired = create_app({"TESTING": True, "DATABASE_URL": url})
        assert client.get("/inbox").status_code == 302  # the old key retired: signed out
        retired.extensions["valueflow"].dispose()
    finally:
        after.extensions["valueflow"].dispose()


def test_the_currency_set_is_shown_with_the_rates(seeded_database, tmp_path, monkeypatch):
    monkeypatch.setenv("VALUEFLOW_CURRENCY", "GBP")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": copy_database(seeded_database, tmp_path)})
    try:
        client = app.test_client()
        Auth(client).login("manager")
        assert "Per hour (GBP)" in client.get("/dashboard/loan_decision").get_data(as_text=True)
    finally:
        app.extensions["valueflow"].dispose()
