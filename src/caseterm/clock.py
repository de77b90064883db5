"""The injected clock. Domain and service code never call ``datetime.now()``.

``CASETERM_CLOCK`` (an ISO-8601 instant) freezes the clock for a whole process: tests,
snapshots and reproducible demos use it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to (``advance``)."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._at += delta if delta is not None else timedelta(**kwargs)
        return self._at


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant (``Z`` suffix allowed); naive means UTC."""
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    return ensure_utc(datetime.fromisoformat(value))


def default_clock() -> Clock:
    frozen = os.environ.get("CASETERM_CLOCK")
    return FixedClock(parse_instant(frozen)) if frozen else SystemClock()
