"""Durations as people type them: ``90``, ``90s``, ``5m``, ``1h30m``, ``1:30`` (minutes:seconds)."""

from __future__ import annotations

import re

from caseterm.errors import ValidationError

_HMS = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.ASCII)
_MMSS = re.compile(r"(\d+):([0-5]?\d)", re.ASCII)


def parse_duration(text: str, field: str = "duration") -> int:
    """Seconds in ``text``."""
    value = text.strip().lower().replace(" ", "")
    if value.isascii() and value.isdigit():
        return int(value)
    if match := _MMSS.fullmatch(value):
        return int(match[1]) * 60 + int(match[2])
    match = _HMS.fullmatch(value)
    if not value or match is None:
        raise ValidationError(field, f"'{text}' is not a duration; write e.g. 90s, 5m, 1h30m or 4:30")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    h, rest = divmod(max(0, int(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
