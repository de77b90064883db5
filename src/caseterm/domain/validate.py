"""Field checks shared by every service; each failure names the field and why."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from caseterm.domain.text import clean_line, looks_like_email, phone_digits
from caseterm.errors import ValidationError

# What NUMERIC(18, 4) on the server holds, with room to spare.
MAX_AMOUNT = Decimal("1000000000000")


def required_line(field: str, value: str | None, max_len: int = 200) -> str:
    text = clean_line(value)
    if not text:
        raise ValidationError(field, "must not be empty")
    if len(text) > max_len:
        raise ValidationError(field, f"is {len(text)} characters long; at most {max_len} are allowed")
    return text


def optional_line(field: str, value: str | None, max_len: int = 200) -> str | None:
    text = clean_line(value)
    if not text:
        return None
    if len(text) > max_len:
        raise ValidationError(field, f"is {len(text)} characters long; at most {max_len} are allowed")
    return text


def body_text(field: str, value: str | None, max_len: int = 100_000, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(field, "must not be empty")
    if len(text) > max_len:
        raise ValidationError(field, f"is {len(text)} characters long; at most {max_len} are allowed")
    return text


def email(field: str, value: str | None) -> str | None:
    text = (value or "").strip().lower()
    if not text:
        return None
    if not looks_like_email(text) or len(text) > 254:
        raise ValidationError(field, f"'{value}' is not an email address (expected name@example.com)")
    return text


def phone(field: str, value: str | None) -> tuple[str | None, str | None]:
    """(as typed, digits only) or (None, None)."""
    text = clean_line(value)
    if not text:
        return None, None
    digits = phone_digits(text)
    if not 6 <= len(digits) <= 20 or any(ch not in "0123456789+-() ./" for ch in text):
        raise ValidationError(field, f"'{value}' is not a phone number (6 to 20 digits, + - ( ) . / and spaces allowed)")
    return text, digits


def positive_int(field: str, value: int | str, maximum: int | None = None, allow_zero: bool = False) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"'{value}' is not a whole number") from None
    low = 0 if allow_zero else 1
    if number < low or (maximum is not None and number > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise ValidationError(field, f"must be between {low}{upper}" if upper else f"must be at least {low}")
    return number


def money(field: str, value: Decimal | str | int) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(field, f"'{value}' is not an amount (for example 19.99)") from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(field, "must be zero or more")
    if amount >= MAX_AMOUNT:
        raise ValidationError(field, f"is too large (at most {MAX_AMOUNT - Decimal('0.01')})")
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # commercial rounding: 0.005 → 0.01
    return rounded if rounded else Decimal("0.00")  # never "-0.00"
