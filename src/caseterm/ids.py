"""UUIDv7 identifiers (RFC 9562), made where a row is created so offline work needs no server.

(The demo seeder makes its own deterministic, time-stamped ids: services/demo.py.)

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


def uuid7() -> uuid.UUID:
    """A new UUIDv7, strictly greater than the previous one made by this process."""
    global _last_ms, _counter
    rand = int.from_bytes(os.urandom(10), "big")
    with _lock:
        now = time.time_ns() // 1_000_000
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
