"""From wire form back to column values, checked: what a pushed op or a pulled row carries
is never trusted.

``values_from_wire(model, data)`` turns ``{"column": wire value}`` into Python values
for ``model``'s columns (``store/wire.py`` is the other direction), refusing with a
:class:`~caseterm.errors.ValidationError` that names the column and what it must be:
an unknown column, a value of the wrong type, a string longer than the column holds, a
number out of range. The server owns ``version`` and ``updated_at``; they are refused in
ops. Nothing here touches a database.
"""

from __future__ import annotations

import uuid
from datetime import date, timezone
from decimal import Decimal, InvalidOperation
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from caseterm.clock import parse_instant
from caseterm.errors import ValidationError
from caseterm.store import models
from caseterm.store.types import JsonText, Money, UtcDateTime

SERVER_OWNED = frozenset({"version", "updated_at"})
_INT_RANGE = (-(2**63), 2**63 - 1)

# entity name (table) -> model, for the tables that sync
ENTITIES: dict[str, type[models.SyncedRow]] = {m.__tablename__: m for m in models.SYNCED_TABLES}


def model_for(entity: str) -> type[models.SyncedRow]:
    model = ENTITIES.get(entity)
    if model is None:
        raise ValidationError("entity", f"'{entity}' is not a table that syncs")
    return model


def values_from_wire(model: type[models.SyncedRow], data: dict[str, Any], *, allow_server_owned: bool = False
                     ) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError("data", "must be an object of column: value")
    converters = _converters(model)
    out: dict[str, Any] = {}
    for name, value in data.items():
        convert = converters.get(name)
        if convert is None:
            raise ValidationError(name, f"{model.__tablename__} has no such column")
        if name in SERVER_OWNED and not allow_server_owned:
            raise ValidationError(name, "is set by the server")
        out[name] = convert(value)
    return out


# A checker per column, made once: a pull or push converts hundreds of thousands of values,
# and working out each column's type for every one of them was half of a pull's time.
_BY_MODEL: dict[type, dict[str, Callable[[Any], Any]]] = {}


def _converters(model: type[models.SyncedRow]) -> dict[str, Callable[[Any], Any]]:
    found = _BY_MODEL.get(model)
    if found is None:
        found = _BY_MODEL[model] = {column.name: _make_converter(column) for column in model.__table__.columns}
    return found


def _make_converter(column: sa.Column) -> Callable[[Any], Any]:
    name, kind = column.name, column.type
    required = not column.nullable and not column.primary_key
    check = _checker(name, kind)
    expected = _expected(kind)

    def convert(value: Any) -> Any:
        if value is None:
            if required:
                raise ValidationError(name, "must have a value")
            return None
        try:
            return check(value)
        except (ValueError, TypeError, InvalidOperation, OverflowError):
            raise ValidationError(name, f"must be {expected}") from None

    return convert


def _checker(name: str, kind) -> Callable[[Any], Any]:
    """value (not None) -> column value; ValueError (or ValidationError) when it is not one."""
    if isinstance(kind, UtcDateTime):
        def instant(value):
            if not isinstance(value, str):
                raise ValueError
            return parse_instant(value).astimezone(timezone.utc)
        return instant
    if isinstance(kind, Money):
        def money(value):
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise ValueError
            number = Decimal(str(value))
            if not number.is_finite():
                raise ValueError
            return number
        return money
    if isinstance(kind, JsonText):
        def json_value(value):
            if not isinstance(value, (dict, list)):
                raise ValueError
            return value
        return json_value
    if isinstance(kind, sa.Uuid):
        def an_id(value):
            if not isinstance(value, str):
                raise ValueError
            return uuid.UUID(value)
        return an_id
    if isinstance(kind, sa.Boolean):
        def boolean(value):
            if not isinstance(value, bool):
                raise ValueError
            return value
        return boolean
    if isinstance(kind, sa.Integer):
        def whole(value):
            if isinstance(value, bool) or not isinstance(value, int) or not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
                raise ValueError
            return value
        return whole
    if isinstance(kind, sa.Float):
        def number(value):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise ValueError
            return float(value)
        return number
    if isinstance(kind, sa.Date):
        def day(value):
            if not isinstance(value, str):
                raise ValueError
            return date.fromisoformat(value)
        return day
    if isinstance(kind, (sa.String, sa.Text)):
        length = getattr(kind, "length", None)

        def text(value):
            if not isinstance(value, str):
                raise ValueError
            if "\x00" in value:
                raise ValidationError(name, "must not hold NUL characters")
            if length and len(value) > length:
                raise ValidationError(name, f"is {len(value)} characters long; at most {length} are allowed")
            return value
        return text

    def unknown(value):
        raise ValidationError(name, "cannot be set over sync")  # a column type this module does not know
    return unknown


def _expected(kind) -> str:
    if isinstance(kind, UtcDateTime):
        return "an ISO-8601 instant such as 2026-11-25T09:00:00Z"
    if isinstance(kind, Money):
        return "a decimal number as a string, e.g. \"19.90\""
    if isinstance(kind, JsonText):
        return "an object or a list"
    if isinstance(kind, sa.Uuid):
        return "a UUID"
    if isinstance(kind, sa.Boolean):
        return "true or false"
    if isinstance(kind, sa.Integer):
        return "a whole number"
    if isinstance(kind, sa.Float):
        return "a number"
    if isinstance(kind, sa.Date):
        return "a date such as 2026-11-25"
    return "text"


def same(a: Any, b: Any) -> bool:
    """Whether two values are equal in wire form (how bases are compared)."""
    from caseterm.store.wire import to_wire

    return to_wire(a) == to_wire(b)


__all__ = ["ENTITIES", "SERVER_OWNED", "model_for", "same", "values_from_wire"]
