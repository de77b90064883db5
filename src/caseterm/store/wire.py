"""Values in wire form: what the outbox stores and what sync and ``--json`` carry.

UUIDs as canonical strings, instants as ISO-8601 UTC with ``Z``, dates as ISO,
money as decimal strings (never floats), enums as their values.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any


def to_wire(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, float):
        return value
    raise TypeError(f"no wire form for {type(value).__name__}")


def row_to_wire(row: Any, fields: list[str] | None = None) -> dict[str, Any]:
    """A table row's columns (or just ``fields``) in wire form."""
    names = fields if fields is not None else [c.name for c in row.__table__.columns]
    return {name: to_wire(getattr(row, name)) for name in names}
