"""Small text rules shared by every face: normalising what people type."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def phone_digits(phone: str | None) -> str:
    """Digits of a phone number, for matching however it was typed ('+46 70-123 45 67')."""
    return "".join(ch for ch in phone or "" if ch.isdigit())


def looks_like_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


def clean_line(value: str | None) -> str:
    """One line of text: trimmed, inner whitespace collapsed."""
    return " ".join((value or "").split())


def compact_age(since: datetime, now: datetime) -> str:
    """How long ago, in one short word: 45s, 12m, 5h (under two days), 3d (under two weeks), 9w."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3_600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86_400:
        return f"{seconds // 3_600}h"
    if seconds < 14 * 86_400:
        return f"{seconds // 86_400}d"
    return f"{seconds // 604_800}w"


def time_left(due: datetime, now: datetime) -> str:
    """A deadline as a countdown in one short word: 45m, 5h, 3d; overdue with a minus: -2h."""
    seconds = int((due - now).total_seconds())
    return ("-" if seconds < 0 else "") + compact_age(now - timedelta(seconds=abs(seconds)), now)


def short_time(moment: datetime | None) -> str:
    """A moment as people scan it in a list: 2026-11-25 09:00 (or a dash)."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"
