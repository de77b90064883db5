"""Business-hours arithmetic: worked examples a service desk would check by hand, and
properties over many generated instants, durations and pauses in real time zones."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseterm.domain import business_hours as bh
from caseterm.errors import ValidationError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)

OFFICE = bh.Calendar.from_spec("Europe/Berlin", {"mon-fri": ["09:00-12:00", "13:00-17:00"]},
                               holidays=["2026-12-24", "2026-12-25", "2026-12-26"])
NIGHTS = bh.Calendar.from_spec("America/New_York", {"mon-sun": ["00:00-04:00", "22:00-24:00"]})
ALWAYS = bh.Calendar.always("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_a_deadline_skips_lunch_the_evening_and_the_weekend():
    friday_4pm = berlin(2026, 11, 27, 16, 0)
    assert bh.add(OFFICE, friday_4pm, 4 * H) == berlin(2026, 11, 30, 12, 0)  # 1 h Friday, 3 h Monday morning
    assert bh.add(OFFICE, berlin(2026, 11, 30, 11, 0), 2 * H) == berlin(2026, 11, 30, 14, 0)  # lunch is not counted
    assert bh.add(OFFICE, berlin(2026, 11, 28, 10, 0), H) == berlin(2026, 11, 30, 10, 0)  # opened on Saturday
    assert bh.between(OFFICE, friday_4pm, berlin(2026, 11, 30, 12, 0)) == 4 * H


def test_holidays_are_skipped():
    assert bh.add(OFFICE, berlin(2026, 12, 23, 16, 0), 2 * H) == berlin(2026, 12, 28, 10, 0)


def test_an_office_day_is_eight_real_hours_across_both_dst_changes():
    # Europe/Berlin: clocks go forward on 2026-03-29 (Sunday) and back on 2026-10-25 (Sunday)
    for monday in (berlin(2026, 3, 30, 9, 0), berlin(2026, 10, 26, 9, 0)):
        assert bh.add(OFFICE, monday - timedelta(days=3), 7 * H) == monday.replace(hour=17) - timedelta(days=3)
        assert bh.between(OFFICE, monday - timedelta(days=2, hours=16), monday) == timedelta(0)  # the weekend


def test_around_the_clock_the_spring_day_has_23_hours_and_the_autumn_day_25():
    assert bh.between(ALWAYS, berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == 23 * H
    assert bh.between(ALWAYS, berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 25 * H
    # 24 working hours from Saturday noon end at 13:00 local on the short Sunday
    assert bh.add(ALWAYS, berlin(2026, 3, 28, 12, 0), 24 * H) == berlin(2026, 3, 29, 13, 0)


def test_night_shifts_cross_midnight_and_the_skipped_hour_is_not_worked():
    # New York springs forward at 02:00 on 2026-03-08: that night's 00:00-04:00 shift is 3 real hours
    night = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    assert bh.between(NIGHTS, night, datetime(2026, 3, 8, 4, 0, tzinfo=NEW_YORK)) == 3 * H
    # 22:00 Saturday + 5 h: 2 h to midnight, then 3 h on the short night
    assert bh.add(NIGHTS, datetime(2026, 3, 7, 22, 0, tzinfo=NEW_YORK), 5 * H) == datetime(
        2026, 3, 8, 4, 0, tzinfo=NEW_YORK)


def test_pauses_stop_the_clock_and_an_open_pause_means_no_deadline():
    start = berlin(2026, 11, 30, 9, 0)
    paused = [(berlin(2026, 11, 30, 10, 0), berlin(2026, 11, 30, 11, 30))]  # waiting for the customer
    assert bh.add(OFFICE, start, 2 * H, paused) == berlin(2026, 11, 30, 13, 30)
    assert bh.between(OFFICE, start, berlin(2026, 11, 30, 13, 30), paused) == 2 * H
    assert bh.add(OFFICE, start, 2 * H, [(berlin(2026, 11, 30, 10, 0), None)]) is None
    # a pause at night changes nothing
    assert bh.add(OFFICE, start, 2 * H, [(berlin(2026, 11, 29, 20, 0), berlin(2026, 11, 30, 8, 0))]) == start + 2 * H


def test_bad_calendars_and_inputs_are_refused_with_the_place_at_fault():
    with pytest.raises(ValidationError, match="hours.mon"):
        bh.Calendar.from_spec("Europe/Berlin", {"mon": ["17:00-09:00"]})
    with pytest.raises(ValidationError, match="hours.fri"):
        bh.Calendar.from_spec("Europe/Berlin", {"fri": ["9-5"]})
    with pytest.raises(ValidationError, match="hours.tue"):
        bh.Calendar.from_spec("Europe/Berlin", {"tue": ["09:00-13:00", "12:00-17:00"]})
    with pytest.raises(ValidationError, match="hours.someday"):
        bh.Calendar.from_spec("Europe/Berlin", {"someday": ["09:00-17:00"]})
    with pytest.raises(ValidationError, match="time zone"):
        bh.Calendar.from_spec("Mars/Olympus", {"mon": ["09:00-17:00"]})
    with pytest.raises(ValidationError, match="no working hours"):
        bh.Calendar.from_spec("Europe/Berlin", {})
    with pytest.raises(ValidationError, match="holidays"):
        bh.Calendar.from_spec("Europe/Berlin", {"mon": ["09:00-17:00"]}, holidays=["25.12.2026"])
    with pytest.raises(ValidationError, match="time zone"):
        bh.add(OFFICE, datetime(2026, 11, 30, 9, 0), H)  # a naive time is ambiguous
    with pytest.raises(ValidationError, match="negative"):
        bh.add(OFFICE, berlin(2026, 11, 30, 9, 0), -H)


# --- properties --------------------------------------------------------------------------------

CALENDARS = st.sampled_from([OFFICE, NIGHTS, ALWAYS,
                             bh.Calendar.from_spec("America/New_York", {"sat-sun": ["10:00-14:00"]}),
                             bh.Calendar.from_spec("Australia/Sydney", {"mon-fri": ["08:30-17:30"]},
                                                   holidays=["2026-04-03", "2026-04-06"])])
# instants around the 2026 DST changes of all three zones, to the second
INSTANTS = st.integers(int(datetime(2026, 2, 20, tzinfo=timezone.utc).timestamp()),
                       int(datetime(2026, 11, 20, tzinfo=timezone.utc).timestamp())).map(
    lambda s: datetime.fromtimestamp(s, timezone.utc))
DURATIONS = st.integers(0, 200 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=300, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS)
def test_adding_then_measuring_gives_the_duration_back(calendar, start, amount):
    end = bh.add(calendar, start, amount)
    assert end >= start
    assert bh.between(calendar, start, end) == amount
    if amount:  # the earliest such instant: it falls in working time or ends a working span
        assert bh.is_working(calendar, end - timedelta(microseconds=1))


@settings(max_examples=300, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS)
def test_subtracting_undoes_adding(calendar, start, amount):
    end = bh.add(calendar, start, amount)
    back = bh.subtract(calendar, end, amount)
    assert start <= back <= end
    if amount and bh.is_working(calendar, start):
        assert back == start
    assert bh.between(calendar, start, back) == timedelta(0)  # only non-working time was skipped


@settings(max_examples=200, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS,
       st.lists(st.tuples(st.integers(-48 * 3600, 400 * 3600), st.integers(1, 72 * 3600)), max_size=4))
def test_pauses_never_make_a_deadline_earlier(calendar, start, amount, raw_pauses):
    pauses = [(start + timedelta(seconds=a), start + timedelta(seconds=a + n)) for a, n in raw_pauses]
    plain = bh.add(calendar, start, amount)
    paused = bh.add(calendar, start, amount, pauses)
    assert paused >= plain
    assert bh.between(calendar, start, paused, pauses) == amount


def test_the_spans_of_a_day_are_real_time():
    assert bh._spans_of_day(OFFICE, date(2026, 11, 30)) == (
        (berlin(2026, 11, 30, 9, 0).astimezone(timezone.utc), berlin(2026, 11, 30, 12, 0).astimezone(timezone.utc)),
        (berlin(2026, 11, 30, 13, 0).astimezone(timezone.utc), berlin(2026, 11, 30, 17, 0).astimezone(timezone.utc)))
    assert bh._spans_of_day(OFFICE, date(2026, 12, 25)) == ()
    assert OFFICE.weekly[5] == () and OFFICE.weekly[0][0] == (time(9), time(12))
