"""Business-hours arithmetic: when does a clock that runs only in working time run out?

A :class:`Calendar` is a time zone (IANA name), weekly working hours in local time (any
number of intervals per weekday; ``24:00`` ends a day) and holidays (local dates on which
nobody works). All instants in and out are timezone-aware; the answers are exact to the
microsecond, across weekends, holidays and daylight-saving changes:

* working intervals are laid out per local day and turned into UTC instants, so a local
  09:00–17:00 is always eight real hours, an interval inside the hour skipped in spring is
  that much shorter, and one inside the hour repeated in autumn that much longer;
* :func:`add` finds the earliest instant at which a given amount of working time has
  passed since a start; :func:`subtract` the latest instant that much working time before
  an end; :func:`between` the working time between two instants;
* pauses (a case waiting for the customer, say) are spans of real time during which the
  clock stops even inside working hours: :func:`add` takes them, and a pause never makes a
  deadline earlier.

Pure functions over immutable values: no I/O, no clock. The SLA engine (service
operations) builds on these.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caseterm.errors import ValidationError

UTC = timezone.utc
DAY = timedelta(days=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SEARCH_DAYS = 3 * 366  # a calendar with no working day in three years is a mistake, not a deadline

Interval = tuple[time, time | None]  # local start, local end (None: 24:00, the end of the day)
Span = tuple[datetime, datetime]  # [start, end) in UTC


@dataclass(frozen=True)
class Calendar:
    zone: str
    weekly: tuple[tuple[Interval, ...], ...]  # 7 entries, Monday first; each sorted, not overlapping
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValidationError("hours", "need an entry for each of the seven weekdays")
        if not any(self.weekly):
            raise ValidationError("hours", "no working hours on any day; a deadline would never come")
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("time zone", f"'{self.zone}' is not a time zone name such as Europe/Berlin")

    @classmethod
    def always(cls, zone: str = "UTC") -> Calendar:
        """Around the clock, every day (the calendar of a 24/7 service)."""
        return cls(zone, (((time(0), None),),) * 7)

    @classmethod
    def from_spec(cls, zone: str, hours: Mapping[str, Iterable[str]], holidays: Iterable[str | date] = ()) -> Calendar:
        """From the operations file's shape: ``{"mon": ["09:00-12:00", "13:00-17:00"], …}``
        (missing days are days off; ``"mon-fri"`` names a range) and ISO dates. Errors name
        the day and the text at fault."""
        weekly: list[list[Interval]] = [[] for _ in WEEKDAYS]
        for key, texts in hours.items():
            days = _days(str(key))
            if isinstance(texts, str):
                texts = [texts]
            for text in texts:
                interval = _interval(str(key), str(text))
                for day in days:
                    weekly[day].append(interval)
        for day, intervals in enumerate(weekly):
            intervals.sort(key=lambda iv: iv[0])
            for (_, end), (start, _) in zip(intervals, intervals[1:]):
                if end is None or end > start:
                    raise ValidationError(f"hours.{WEEKDAYS[day]}", "working intervals overlap")
        dates = set()
        for value in holidays:
            if isinstance(value, date):
                dates.add(value)
                continue
            try:
                dates.add(date.fromisoformat(str(value)))
            except ValueError:
                raise ValidationError("holidays", f"'{value}' is not a date like 2026-12-25")
        return cls(zone, tuple(tuple(d) for d in weekly), frozenset(dates))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


def _days(key: str) -> list[int]:
    key = key.strip().lower()
    if "-" in key:
        first, _, last = key.partition("-")
        if first in WEEKDAYS and last in WEEKDAYS and WEEKDAYS.index(first) <= WEEKDAYS.index(last):
            return list(range(WEEKDAYS.index(first), WEEKDAYS.index(last) + 1))
    elif key in WEEKDAYS:
        return [WEEKDAYS.index(key)]
    raise ValidationError(f"hours.{key}", "use a weekday (mon … sun) or a range such as mon-fri")


_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _interval(key: str, text: str) -> Interval:
    m = _TIME.match(text)
    if not m:
        raise ValidationError(f"hours.{key}", f"'{text}' is not a time range like 09:00-17:00")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValidationError(f"hours.{key}", f"'{text}' has a time that does not exist")
    start, end = time(h1, m1), (None if h2 == 24 else time(h2, m2))
    if end is not None and end <= start:
        raise ValidationError(f"hours.{key}", f"'{text}' ends before it starts (use 24:00 for midnight)")
    return start, end


# --- the working spans of a day ------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _spans_of_day(calendar: Calendar, day: date) -> tuple[Span, ...]:
    """The working spans of one local day as UTC instants (empty on holidays and days off)."""
    if day in calendar.holidays:
        return ()
    tz = calendar.tz
    spans = []
    for start, end in calendar.weekly[day.weekday()]:
        s = datetime.combine(day, start, tz).astimezone(UTC)
        e = datetime.combine(day + DAY, time(0), tz) if end is None else datetime.combine(day, end, tz)
        e = e.astimezone(UTC)
        if e > s:  # an interval inside the hour skipped in spring has no length
            spans.append((s, e))
    return tuple(spans)


def _local_day(calendar: Calendar, moment: datetime) -> date:
    return moment.astimezone(calendar.tz).date()


def _forward(calendar: Calendar, start: datetime) -> Iterator[Span]:
    """Working spans from ``start`` on, in order, the first clipped to begin at ``start``."""
    day = _local_day(calendar, start) - DAY  # the day before: its spans may reach past midnight UTC
    for _ in range(MAX_SEARCH_DAYS):
        for s, e in _spans_of_day(calendar, day):
            if e > start:
                yield max(s, start), e
        day += DAY
    raise ValidationError("calendar", f"no working time within {MAX_SEARCH_DAYS} days of {start:%Y-%m-%d}")


def _backward(calendar: Calendar, end: datetime) -> Iterator[Span]:
    """Working spans up to ``end``, latest first, the first clipped to finish at ``end``."""
    day = _local_day(calendar, end) + DAY
    for _ in range(MAX_SEARCH_DAYS):
        for s, e in reversed(_spans_of_day(calendar, day)):
            if s < end:
                yield s, min(e, end)
        day -= DAY
    raise ValidationError("calendar", f"no working time within {MAX_SEARCH_DAYS} days before {end:%Y-%m-%d}")


def _without(spans: Iterator[Span], pauses: Sequence[tuple[datetime, datetime | None]]) -> Iterator[Span]:
    """``spans`` (in order) minus the paused time; a pause without an end lasts for ever."""
    cuts = sorted((_aware(a, "pause start"), None if b is None else _aware(b, "pause end")) for a, b in pauses)
    for s, e in spans:
        pieces = [(s, e)]
        for a, b in cuts:
            next_pieces = []
            for ps, pe in pieces:
                if b is not None and b <= ps or a >= pe:
                    next_pieces.append((ps, pe))
                    continue
                if a > ps:
                    next_pieces.append((ps, a))
                if b is not None and b < pe:
                    next_pieces.append((b, pe))
            pieces = next_pieces
        yield from pieces
        if any(b is None and a <= e for a, b in cuts):
            return  # paused for good: no working time after this


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValidationError(what, "needs a time zone (times are kept in UTC)")
    return moment.astimezone(UTC)


# --- the arithmetic ------------------------------------------------------------------------------


def add(calendar: Calendar, start: datetime, amount: timedelta,
        pauses: Sequence[tuple[datetime, datetime | None]] = ()) -> datetime | None:
    """The earliest instant at which ``amount`` of working time (not paused) has passed since
    ``start``; None if a pause that never ends stops the clock first. ``amount`` 0 is
    ``start`` itself."""
    start = _aware(start, "start")
    if amount < timedelta(0):
        raise ValidationError("duration", "must not be negative")
    if not amount:
        return start
    left = amount
    for s, e in _without(_forward(calendar, start), pauses):
        if e - s >= left:
            return s + left
        left -= e - s
    return None


def subtract(calendar: Calendar, end: datetime, amount: timedelta) -> datetime:
    """The latest instant ``amount`` of working time before ``end`` (``end`` itself for 0)."""
    end = _aware(end, "end")
    if amount < timedelta(0):
        raise ValidationError("duration", "must not be negative")
    if not amount:
        return end
    left = amount
    for s, e in _backward(calendar, end):
        if e - s >= left:
            return e - left
        left -= e - s
    raise AssertionError("unreachable: _backward raises first")


def between(calendar: Calendar, start: datetime, end: datetime,
            pauses: Sequence[tuple[datetime, datetime | None]] = ()) -> timedelta:
    """The working time (not paused) from ``start`` to ``end`` (0 when ``end`` ≤ ``start``)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    total = timedelta(0)
    if end <= start:
        return total
    for s, e in _without(_forward(calendar, start), pauses):
        if s >= end:
            break
        total += min(e, end) - s
    return total


def is_working(calendar: Calendar, moment: datetime) -> bool:
    """Whether ``moment`` falls in working hours."""
    moment = _aware(moment, "moment")
    return any(s <= moment < e for d in (-1, 0, 1)
               for s, e in _spans_of_day(calendar, _local_day(calendar, moment) + d * DAY))


# --- a precomputed working-time line, for many deadlines under one calendar --------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
LINE_MAX_DAYS = 40 * 366  # a line longer than this is not worth building: :meth:`WorkingLine.add` falls back


def to_micros(moment: datetime) -> int:
    """An aware instant as integer microseconds since 1970-01-01 UTC."""
    return (_aware(moment, "moment") - EPOCH) // _US


def from_micros(micros: int) -> datetime:
    """The aware UTC instant ``micros`` microseconds after 1970-01-01 UTC."""
    return EPOCH + timedelta(microseconds=micros)


class WorkingLine:
    """The working spans of a calendar laid end to end, for answering :func:`add` fast.

    Built for a UTC range, the line holds the calendar's working spans in order (as UTC
    instants in integer microseconds, taken from the same per-day layout :func:`add` uses)
    with the working time before each. The *ordinal* of an instant is the working time
    (microseconds) from the line's origin to it; the instant of an ordinal is the earliest
    instant that far along. Both are a binary search, so ``add(start, amount)`` =
    ``instant(ordinal(start) + amount)`` costs microseconds however far the deadline is.

    :meth:`add` gives exactly what :func:`add` gives (no pauses). The line grows forward on
    demand; a start before its beginning (see :attr:`low`) is answered by :func:`add`
    itself, and so is every start of a calendar whose spans overlap (intervals inside the
    hour skipped in spring next to others: :attr:`exact` is False then). Ordinals stay
    valid as the line grows (it only grows forward). Not thread-safe while it grows.
    """

    def __init__(self, calendar: Calendar, start: datetime, end: datetime | None = None) -> None:
        start = _aware(start, "start")
        end = start if end is None else _aware(end, "end")
        self.calendar = calendar
        self.exact = True
        # Two days' margin: the spans ``_forward`` looks at for a start on local day d are
        # those of days d-1 on; the line must hold all of them.
        self._first = _local_day(calendar, start) - 2 * DAY
        self._next = self._first  # the first local day not laid out yet
        self.low = to_micros(datetime.combine(self._first + DAY, time(0), calendar.tz))  # starts from here on
        self.high = self.low  # the line holds every span that begins before this instant
        self._starts: list[int] = []  # span starts (µs since the epoch, UTC)
        self._ends: list[int] = []
        self._cum: list[int] = []  # working µs before each span
        self._cum_end: list[int] = []  # … and up to its end
        self._extend_to(max(_local_day(calendar, end), _local_day(calendar, start)) + DAY)

    # the line itself -----------------------------------------------------------------------

    @property
    def days(self) -> int:
        return (self._next - self._first).days

    def _extend_to(self, last: date) -> None:
        """Lay out the local days up to and including ``last``."""
        if last < self._next:
            return
        if (last - self._first).days > LINE_MAX_DAYS:
            raise OverflowError("working line too long")
        tz = self.calendar.tz
        starts, ends, cum, cum_end = self._starts, self._ends, self._cum, self._cum_end
        total = cum_end[-1] if cum_end else 0
        previous_end = ends[-1] if ends else None
        day = self._next
        while day <= last:
            for s, e in _spans_of_day(self.calendar, day):
                s_us, e_us = (s - EPOCH) // _US, (e - EPOCH) // _US
                if previous_end is not None and s_us < previous_end:
                    self.exact = False  # out of order or overlapping: leave it to add()
                starts.append(s_us)
                ends.append(e_us)
                cum.append(total)
                total += e_us - s_us
                cum_end.append(total)
                previous_end = e_us
            day += DAY
        self._next = day
        # every span of a later day begins at or after that day's local midnight
        self.high = to_micros(datetime.combine(day, time(0), tz))

    def _grow(self, *, until_micros: int | None = None, until_total: int | None = None) -> None:
        """Lay out more days until the line reaches ``until_micros`` or holds ``until_total``
        of working time (OverflowError past ``LINE_MAX_DAYS``)."""
        def short() -> bool:
            if until_micros is not None and until_micros > self.high:
                return True
            return until_total is not None and (not self._cum_end or self._cum_end[-1] < until_total)

        while short():
            more = max(31, self.days)  # doubling: a few steps reach any deadline
            if until_micros is not None and until_micros > self.high:
                more = max(more, (until_micros - self.high) // 86_400_000_000 + 2)
            self._extend_to(self._next + timedelta(days=more - 1))

    # microsecond interface (hot loops) -----------------------------------------------------------

    def ordinal_us(self, micros: int) -> int:
        """The working µs from the line's origin to the instant ``micros`` (≥ :attr:`low`)."""
        if micros > self.high:
            self._grow(until_micros=micros)
        i = bisect.bisect_right(self._starts, micros) - 1
        if i < 0:
            return 0
        return min(self._cum[i] + micros - self._starts[i], self._cum_end[i])

    def instant_us(self, ordinal: int) -> int:
        """The earliest instant (µs) at which the line's working time reaches ``ordinal`` (> 0)."""
        cum_end = self._cum_end
        if not cum_end or ordinal > cum_end[-1]:
            self._grow(until_total=ordinal)
        i = bisect.bisect_left(self._cum_end, ordinal)
        return self._starts[i] + ordinal - self._cum[i]

    def add_us(self, start: int, amount: int) -> int:
        """:meth:`add` in microseconds since the epoch."""
        return self.deadlines_us(start, (amount,))[0]

    def deadlines_us(self, start: int, amounts: Sequence[int]) -> list[int]:
        """``add_us(start, a)`` for each ``a`` of ``amounts`` (µs), finding ``start`` once."""
        if amounts and min(amounts) < 0:
            raise ValidationError("duration", "must not be negative")
        if self.exact and self.low <= start <= self.high and self._cum_end:
            # the hot path, inlined: one search for the start, one per deadline
            starts, cum, cum_end = self._starts, self._cum, self._cum_end
            i = bisect.bisect_right(starts, start) - 1
            o = 0 if i < 0 else min(cum[i] + start - starts[i], cum_end[i])
            total = cum_end[-1]
            out = []
            for a in amounts:
                if not a:
                    out.append(start)
                    continue
                target = o + a
                if target > total:
                    break  # beyond the line: grow it, below
                j = bisect.bisect_left(cum_end, target)
                out.append(starts[j] + target - cum[j])
            else:
                return out
        if self.exact and start >= self.low:
            try:
                o = self.ordinal_us(start)
                out = [self.instant_us(o + a) if a else start for a in amounts]
            except OverflowError:
                out = None
            if out is not None and self.exact:  # (growing may have found overlapping spans)
                return out
        moment = from_micros(start)
        return [to_micros(add(self.calendar, moment, timedelta(microseconds=a))) for a in amounts]

    # datetime interface ---------------------------------------------------------------------------

    def ordinal(self, moment: datetime) -> int:
        """The working time from the line's origin to ``moment``, in microseconds."""
        micros = to_micros(moment)
        if micros < self.low:
            raise ValidationError("moment", f"before the working line's start ({from_micros(self.low):%Y-%m-%d})")
        return self.ordinal_us(micros)

    def instant(self, ordinal: int) -> datetime:
        """The earliest instant at which ``ordinal`` µs of working time have passed since the
        line's origin (``ordinal`` > 0)."""
        if ordinal <= 0:
            raise ValidationError("ordinal", "must be above zero")
        return from_micros(self.instant_us(ordinal))

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """Exactly :func:`add` ``(calendar, start, amount)`` (without pauses), fast."""
        if amount < timedelta(0):
            raise ValidationError("duration", "must not be negative")
        return from_micros(self.add_us(to_micros(start), amount // _US))


__all__ = ["Calendar", "WorkingLine", "add", "between", "from_micros", "is_working", "subtract", "to_micros"]
