"""Column types of our own, apart from the schema so that a Core query can use them without the ORM models."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        return None if value is None else value.replace(tzinfo=timezone.utc)

    def bind_processor(self, dialect: Any) -> Any:
        """TypeDecorator's conversion, remembering the last datetime it converted.

        A step writes its one "now" in several rows and events; converting it
        (to UTC, then to SQLite's text) was about 3 % of a step.
        """
        convert = super().bind_processor(dialect)
        if convert is None:
            return None
        last: list[tuple[Any, Any]] = [(None, None)]  # (datetime, converted): replaced whole, so threads agree

        def process(value: Any) -> Any:
            seen, converted = last[0]
            if value is seen:
                return converted
            converted = convert(value)
            last[0] = (value, converted)
            return converted

        return process
