"""Durations as people type them: ``90``, ``90s``, ``5m``, ``1h30m``, ``1:30`` (minutes:seconds)."""

from __future__ import annotations

import re

from caseterm.errors import ValidationError

_PART = re.compile(r"(\d+)\s*([hms])")


def parse_duration(text: str, field: str = "duration") -> int:
    """Seconds in ``text``."""
    value = text.strip().lower().replace(" ", "")
    if value.isdigit():
        return int(value)
    if re.fullmatch(r"\d+:\d{1,2}", value):
        minutes, seconds = value.split(":")
        return int(minutes) * 60 + int(seconds)
    parts = _PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValidationError(field, f"'{text}' is not a duration; write e.g. 90s, 5m, 1h30m or 4:30")
    factor = {"h": 3600, "m": 60, "s": 1}
    return sum(int(n) * factor[u] for n, u in parts)


def format_duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
