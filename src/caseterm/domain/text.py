"""Small text rules shared by every face: normalising what people type."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def phone_digits(phone: str | None) -> str:
    """Digits of a phone number, for matching however it was typed ('+46 70-123 45 67')."""
    return "".join(ch for ch in phone or "" if ch.isdigit())


def looks_like_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


def clean_line(value: str | None) -> str:
    """One line of text: trimmed, inner whitespace collapsed."""
    return " ".join((value or "").split())
