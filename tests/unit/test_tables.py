"""UTC datetimes go to the database the same way, whether or not the value was just converted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from engine.storage.types import UTCDateTime

NOW = datetime(2026, 1, 5, 9, 30, 1, 5, tzinfo=timezone.utc)
SAME_INSTANT_IN_PARIS = NOW.astimezone(timezone(timedelta(hours=1)))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_a_remembered_conversion_gives_what_converting_again_gives(dialect):
    remembering = UTCDateTime().bind_processor(dialect)
    plain = TypeDecorator.bind_processor(UTCDateTime(), dialect)
    values = [NOW, NOW, SAME_INSTANT_IN_PARIS, None, NOW + timedelta(days=400), NOW, SAME_INSTANT_IN_PARIS]
    assert [remembering(v) for v in values] == [plain(v) for v in values]
    assert remembering(NOW) == remembering(SAME_INSTANT_IN_PARIS) != remembering(NOW + timedelta(seconds=1))


def test_a_naive_datetime_is_refused_even_right_after_the_same_wall_time_in_utc():
    remembering = UTCDateTime().bind_processor(sqlite.dialect())
    remembering(NOW)
    with pytest.raises(ValueError, match="naive datetime"):
        remembering(NOW.replace(tzinfo=None))
