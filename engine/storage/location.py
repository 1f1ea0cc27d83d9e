"""Which database: the one VALUEFLOW_DATABASE_URL names, else a SQLite file in the working directory.

A variable set but left empty (a deployment template that filled in nothing) is refused rather than read as unset:
a production server would otherwise keep its cases in a new SQLite file beside it, unseen.

Apart from engine.storage.db so that a command that reads on the driver alone (engine.storage.driver_reads)
finds it without loading SQLAlchemy.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "sqlite:///valueflow.db"


def database_url() -> str:
    """The database named by VALUEFLOW_DATABASE_URL, else the default SQLite file; ValueError when it is set but
    empty."""
    named = os.environ.get("VALUEFLOW_DATABASE_URL")
    if named is None:
        return DEFAULT_URL
    if not named.strip():
        raise ValueError("VALUEFLOW_DATABASE_URL is set but empty: name the database (postgresql://USER@HOST/NAME "
                         f"or sqlite:///PATH), or unset it for the SQLite file {DEFAULT_URL.split('///')[1]} here")
    return named


def shown_database_url() -> str:
    """The database's URL as it may be printed to a log: a password in it as ``***``."""
    url = database_url()
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user_and_password, _, host = parts.netloc.rpartition("@")
    user = user_and_password.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
