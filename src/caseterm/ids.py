"""UUIDv7 identifiers (RFC 9562), made where a row is created so offline work needs no server.

Python 3.11's ``uuid`` module has no ``uuid7``; this is the whole algorithm: 48 bits of
Unix milliseconds, then a 12-bit counter that keeps ids made in the same millisecond
strictly increasing within this process, then 62 random bits.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7(ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7. ``ms`` (Unix milliseconds) is for bulk generation of historic rows."""
    global _last_ms, _counter
    rand = int.from_bytes(os.urandom(10), "big")
    with _lock:
        now = time.time_ns() // 1_000_000 if ms is None else ms
        if now <= _last_ms:
            # Same (or an earlier) millisecond: keep ordering by bumping the counter,
            # borrowing the next millisecond when it overflows.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            now = _last_ms
        else:
            _last_ms = now
            _counter = rand >> 68 & 0x3FF  # random start, leaves headroom below 0xFFF
        counter = _counter
    value = (now & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version 7
    value |= counter << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=value)


def uuid7_hex_batch(ms_values: list[int]) -> list[str]:
    """Hex ids (32 chars, the store's text form) for bulk loads, one per millisecond value.

    Ordering is only guaranteed per distinct millisecond; bulk loads sort by time anyway.
    """
    out = []
    rand_bytes = os.urandom(10 * len(ms_values))
    for i, ms in enumerate(ms_values):
        rand = int.from_bytes(rand_bytes[i * 10 : i * 10 + 10], "big")
        value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
        value |= 0b10 << 62 | rand & 0x3FFF_FFFF_FFFF_FFFF
        out.append(f"{value:032x}")
    return out
