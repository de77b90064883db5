"""Human numbers: ``CAS-<device>-<seq>``, ``RMA-<device>-<seq>`` (DESIGN.md section 4).

The device code comes from the server when a client registers; numbers made offline
never collide across devices and never change.
"""

from __future__ import annotations

import re

PREFIXES = ("CAS", "RMA", "KA")
_NUMBER = re.compile(r"^(?P<prefix>[A-Z]{2,3})-(?P<device>[A-Z0-9]{2,6})-(?P<seq>\d{1,9})$")
_DEVICE = re.compile(r"^[A-Z0-9]{2,6}$")


def format_number(prefix: str, device: str, seq: int) -> str:
    return f"{prefix}-{device}-{seq:06d}"


def valid_device_code(code: str) -> bool:
    return bool(_DEVICE.match(code))


def normalise_number(text: str) -> str:
    """Upper-cased and trimmed; ``cas-loc-12`` finds ``CAS-LOC-000012``."""
    value = text.strip().upper()
    match = _NUMBER.match(value)
    if match:
        return format_number(match["prefix"], match["device"], int(match["seq"]))
    return value
