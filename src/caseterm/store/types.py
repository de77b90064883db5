"""Column types that behave the same on SQLite and PostgreSQL.

These are imported by the migration scripts too: change them only in ways that keep
what is already stored readable.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String, Text
from sqlalchemy.types import TypeDecorator

# SQLite stores datetimes as text in this format; the raw read path parses it.
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in Python, naive UTC in the database (sortable text on SQLite)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw text from SQLite written outside SQLAlchemy
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Money(TypeDecorator):
    """Exact ``Decimal``: text on SQLite (which has no decimal type), NUMERIC(18,4) elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(18, 4, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return value if dialect.name == "sqlite" else _cents_at_least(value)


def _cents_at_least(value: Decimal) -> Decimal:
    """NUMERIC(18,4) answers 4 places (12.5000) where SQLite's text keeps what was
    written; amounts are written with 2 (``domain.validate.money``), so trailing zeros
    past the cents go: the same ``Decimal`` and the same wire form (12.50) on both."""
    while value.as_tuple().exponent < -2 and value.as_tuple().digits[-1] == 0:
        value = value.quantize(Decimal(1).scaleb(value.as_tuple().exponent + 1))
    return value


class JsonText(TypeDecorator):
    """JSON kept as text with sorted keys, so equal values store equally on every database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)
