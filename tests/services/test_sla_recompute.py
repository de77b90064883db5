"""Recomputing SLA deadlines after a calendar or policy change (services.sla_recompute),
and the working line it rests on (domain.business_hours.WorkingLine)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from caseterm.domain import business_hours as bh
from caseterm.errors import ValidationError
from caseterm.services import cases, ops, routing
from caseterm.services.sla_recompute import recompute
from caseterm.store.models import Case

UTC = timezone.utc
STOCKHOLM = ZoneInfo("Europe/Stockholm")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)

# --- the working line agrees with add() ---------------------------------------------------------

OFFICE = bh.Calendar.from_spec("Europe/Stockholm", {"mon-fri": ["08:00-12:00", "13:00-17:00"]},
                               holidays=["2026-03-30", "2026-12-24", "2026-12-25", "2027-01-01", "2027-03-29"])
NIGHTS = bh.Calendar.from_spec("America/New_York", {"mon-sun": ["00:00-04:00", "22:00-24:00"]},
                               holidays=["2026-11-26"])
ALWAYS = bh.Calendar.always("Europe/Stockholm")
# local hours right across the changes: 02:00-03:00 is skipped in spring and repeated in autumn
AROUND_DST = bh.Calendar.from_spec("Europe/Stockholm", {"mon-sun": ["01:00-02:30", "02:30-04:00"], "sat": "09:00-10:00"})
NY_DST = bh.Calendar.from_spec("America/New_York", {"sun": ["00:30-01:30", "01:30-03:00"], "mon-fri": "09:00-17:00"})
# spans that overlap in UTC on the spring change (02:00-02:30 does not exist that day)
OVERLAPPING = bh.Calendar.from_spec("Europe/Stockholm", {"sun": ["02:00-02:30", "03:00-04:00"], "mon-fri": "09:00-17:00"})
CALENDARS = [OFFICE, NIGHTS, ALWAYS, AROUND_DST, NY_DST, OVERLAPPING]

# DST changes in 2026-2027: Europe 29 Mar / 25 Oct 2026, 28 Mar / 31 Oct 2027; New York 8 Mar / 1 Nov 2026, 14 Mar 2027
CHANGES = [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC),
           datetime(2027, 3, 28, 1, tzinfo=UTC), datetime(2027, 10, 31, 1, tzinfo=UTC),
           datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC),
           datetime(2027, 3, 14, 7, tzinfo=UTC)]
# a line per calendar, built for a narrow window so that the examples make it grow, and
# starts before it are answered by add() itself; shared across examples on purpose
LINES = {cal: bh.WorkingLine(cal, datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC))
         for cal in CALENDARS}

MICROS = 1_000_000
NEAR_CHANGES = st.builds(lambda base, offset: base + timedelta(microseconds=offset),
                         st.sampled_from(CHANGES), st.integers(-3 * 86_400 * MICROS, 3 * 86_400 * MICROS))
ON_THE_HALF_HOUR = st.builds(lambda base, halves: base.replace(minute=0, second=0, microsecond=0)
                             + halves * timedelta(minutes=30),
                             st.sampled_from(CHANGES), st.integers(-200, 200))
ANYWHERE = st.integers(int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
                       int(datetime(2027, 12, 31, tzinfo=UTC).timestamp())).map(
    lambda s: datetime.fromtimestamp(s, UTC))
STARTS = st.one_of(NEAR_CHANGES, ON_THE_HALF_HOUR, ANYWHERE)
AMOUNTS = st.one_of(st.integers(0, 300 * 3600 * MICROS).map(lambda us: timedelta(microseconds=us)),
                    st.integers(0, 400).map(lambda halves: halves * timedelta(minutes=30)))


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(CALENDARS), STARTS, AMOUNTS, st.sampled_from([UTC, STOCKHOLM, NEW_YORK]))
def test_the_working_line_adds_exactly_what_add_does(calendar, start, amount, zone):
    start = start.astimezone(zone)
    assert LINES[calendar].add(start, amount) == bh.add(calendar, start, amount)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CALENDARS), STARTS, AMOUNTS)
def test_a_fresh_line_for_the_start_agrees_too_and_finds_several_deadlines_at_once(calendar, start, amount):
    line = bh.WorkingLine(calendar, start)
    amounts = (amount, amount * 2, timedelta(0), amount + timedelta(microseconds=1))
    due = line.deadlines_us(bh.to_micros(start), [a // timedelta(microseconds=1) for a in amounts])
    assert [bh.from_micros(d) for d in due] == [bh.add(calendar, start, a) for a in amounts]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([OFFICE, NIGHTS, ALWAYS, AROUND_DST, NY_DST]), STARTS, STARTS)
def test_ordinals_measure_working_time_like_between(calendar, a, b):
    line = bh.WorkingLine(calendar, min(a, b))
    a, b = sorted((a, b))
    assert line.ordinal(b) - line.ordinal(a) == bh.between(calendar, a, b) // timedelta(microseconds=1)
    if b > a and line.ordinal(b) > line.ordinal(a):
        assert line.instant(line.ordinal(b)) <= b  # the earliest instant that far along


def test_the_line_across_dst_changes_by_hand():
    line = bh.WorkingLine(OFFICE, datetime(2026, 10, 1, tzinfo=UTC))
    friday = datetime(2026, 10, 23, 16, 0, tzinfo=STOCKHOLM)  # the clocks go back on Sunday 25 October
    assert line.add(friday, 2 * H) == datetime(2026, 10, 26, 9, 0, tzinfo=STOCKHOLM)
    night = bh.WorkingLine(AROUND_DST, datetime(2026, 10, 20, tzinfo=UTC))
    # 25 October: 01:00-04:00 local lasts four real hours (02:00-03:00 happens twice)
    start = datetime(2026, 10, 25, 1, 0, tzinfo=STOCKHOLM)
    assert night.add(start, 4 * H) == bh.add(AROUND_DST, start, 4 * H) == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)


def test_overlapping_spans_leave_the_answer_to_add_and_early_starts_too():
    line = bh.WorkingLine(OVERLAPPING, datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 5, tzinfo=UTC))
    assert not line.exact  # 29 March: 02:00-02:30 and 03:00-04:00 overlap in UTC
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert line.add(start, H) == bh.add(OVERLAPPING, start, H)
    office = bh.WorkingLine(OFFICE, datetime(2026, 6, 1, tzinfo=UTC))
    early = datetime(2026, 1, 5, 9, 0, tzinfo=STOCKHOLM)
    assert bh.to_micros(early) < office.low and office.add(early, 3 * H) == bh.add(OFFICE, early, 3 * H)
    with pytest.raises(ValidationError, match="before the working line"):
        office.ordinal(early)


def test_the_line_grows_on_demand_and_rejects_what_add_rejects():
    line = bh.WorkingLine(ALWAYS, datetime(2026, 1, 1, tzinfo=UTC))
    days = line.days
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert line.add(start, timedelta(days=400)) == start + timedelta(days=400)
    assert line.days > days
    assert line.add(start, timedelta(0)) == start
    with pytest.raises(ValidationError, match="negative"):
        line.add(start, -H)
    with pytest.raises(ValidationError, match="above zero"):
        line.instant(0)
    with pytest.raises(ValidationError, match="time zone"):
        line.add(datetime(2026, 1, 2), H)


# --- recomputing a store's deadlines -------------------------------------------------------------

TARGETS = ('targets = { 1 = { first_response = "1h", resolve = "8h" }, 2 = { first_response = "2h", resolve = "16h" }, '
           '3 = { first_response = "4h", resolve = "24h" }, 4 = { first_response = "8h", resolve = "40h" } }')


def ops_text(office_hours: str = '["09:00-17:00"]', office_holidays: str = "[]", *, gold: bool = True,
             us_hours: str = '["09:00-17:00"]', gold_targets: str = TARGETS) -> str:
    text = f'''
[[calendar]]
name = "office"
time_zone = "Europe/Stockholm"
hours = {{ mon-fri = {office_hours} }}
holidays = {office_holidays}

[[calendar]]
name = "us"
time_zone = "America/New_York"
hours = {{ mon-fri = {us_hours} }}

[[calendar]]
name = "around the clock"
time_zone = "Europe/Stockholm"
hours = {{ mon-sun = ["00:00-24:00"] }}

[[sla]]
name = "us"
calendar = "us"
when = {{ origin = "email" }}
{TARGETS}
'''
    if gold:
        text += f'''
[[sla]]
name = "gold"
calendar = "around the clock"
when = {{ customer_tier = "gold" }}
warn_at = 0.5
{gold_targets}
'''
    return text + f'''
[[sla]]
name = "standard"
calendar = "office"
{TARGETS}
'''


V2 = dict(office_hours='["08:00-12:00", "13:00-16:00"]', office_holidays='["2026-11-26", "2026-12-01"]',
          us_hours='["08:30-16:30"]')


def apply(store, clock, text: str) -> None:
    # the operations cache (routing.operations) notices changes by their count and latest
    # updated_at: each apply must come later than the ones before (the clock never goes back
    # across an apply in these tests)
    clock.advance(seconds=1)
    assert ops.apply_text(store.uow, "admin", text).applied


def set_clock(clock, moment: datetime) -> None:
    clock.advance(moment.astimezone(UTC) - clock.now())


def new_case(store, world, *, priority=3, customer="bob", origin="phone", title="Kettle"):
    with store.uow() as uow:
        return cases.create_case(uow, world["agent"], customer=world[customer], title=title, origin=origin,
                                 priority=priority)


def load(store, case) -> Case:
    with store.uow() as uow:
        return uow.session.get(Case, case.id)


def deadlines(case) -> tuple:
    return case.first_response_due_at, case.resolve_due_at, case.sla_warn_at


def raw(store, case, columns: str) -> tuple:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(f"SELECT {columns} FROM cases WHERE id = ?", (case.id.hex,)).fetchone()
    finally:
        conn.close()


def raw_count(store, table: str) -> int:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def gold(store, world):
    with store.uow() as uow:
        uow.update(world["ada"], world["admin"].id, "seed", tier="gold")
    return world


def test_after_a_calendar_change_open_cases_get_what_a_new_case_would_get(store, gold, clock):
    world = gold
    apply(store, clock, ops_text())
    made = []  # (case, created, priority, customer, origin)
    moments = [datetime(2026, 10, 29, 15, 30, tzinfo=NEW_YORK),  # New York's clocks go back on 1 November
               datetime(2026, 11, 20, 16, 45, tzinfo=STOCKHOLM),  # a Friday afternoon
               datetime(2026, 11, 21, 11, 0, tzinfo=STOCKHOLM),  # a Saturday
               datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=STOCKHOLM),
               datetime(2026, 11, 25, 7, 15, tzinfo=STOCKHOLM)]  # before the office opens
    for i, moment in enumerate(moments):
        set_clock(clock, moment)
        for priority in (1, 3, 4):
            for customer, origin in (("bob", "phone"), ("ada", "phone"), ("bob", "email")):
                made.append((new_case(store, world, priority=priority, customer=customer, origin=origin,
                                      title=f"Case {i}"), moment, priority, customer, origin))
    set_clock(clock, datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # (after the first apply: see apply())
    assert recompute(store).changed == 0  # nothing changed yet: exactly what the ORM wrote

    apply(store, clock, ops_text(**V2, gold_targets=TARGETS.replace('"8h"', '"6h"')))
    report = recompute(store)
    assert report.examined == len(made) and report.orphaned == 0
    assert report.changed == report.examined - report.unchanged and report.changed > len(made) // 2
    policies = {("bob", "phone"): "standard", ("ada", "phone"): "gold", ("bob", "email"): "us"}
    for case, moment, priority, customer, origin in made:
        set_clock(clock, moment)
        twin = new_case(store, world, priority=priority, customer=customer, origin=origin, title="Twin")
        assert twin.sla_policy == load(store, case).sla_policy == policies[(customer, origin)]
        assert deadlines(load(store, case)) == deadlines(twin), (moment, priority, customer, origin)
        # and the raw text is the ORM's, to the character
        assert raw(store, case, "first_response_due_at, resolve_due_at, sla_warn_at") == \
            raw(store, twin, "first_response_due_at, resolve_due_at, sla_warn_at")
    set_clock(clock, datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    again = recompute(store)
    assert (again.changed, again.unchanged) == (0, again.examined)


def test_paused_and_answered_cases(store, world, clock):
    set_clock(clock, datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM) - timedelta(seconds=1))  # Monday
    apply(store, clock, ops_text())
    answered = new_case(store, world, priority=3, title="Answered")
    resumed = new_case(store, world, priority=3, title="Resumed")
    waiting = new_case(store, world, priority=4, title="Waiting")
    clock.advance(hours=1)
    with store.uow() as uow:
        cases.add_activity(uow, world["agent"], uow.session.get(Case, answered.id), kind="phone_call",
                           body="Told her what to do", direction="outbound", duration_seconds=60)
        cases.set_status(uow, world["agent"], uow.session.get(Case, resumed.id), "waiting_for_customer")
    clock.advance(hours=24)  # Tuesday 11:00: 8 office hours stood still
    with store.uow() as uow:
        cases.set_status(uow, world["agent"], uow.session.get(Case, resumed.id), "in_progress")
        cases.set_status(uow, world["agent"], uow.session.get(Case, waiting.id), "waiting_for_customer")
    answered, resumed, waiting = load(store, answered), load(store, resumed), load(store, waiting)
    assert resumed.sla_paused_seconds == 8 * 3600 and waiting.sla_paused_at is not None
    assert answered.first_response_at is not None
    assert recompute(store).changed == 0  # resuming moved them just as the formula says

    apply(store, clock, ops_text(**V2))
    outbox = raw_count(store, "outbox")
    report = recompute(store)
    assert report.changed == 3
    # derived values: no outbox operations, and updated_at is left alone
    assert raw_count(store, "outbox") == outbox
    assert [load(store, c).updated_at for c in (answered, resumed, waiting)] == \
        [c.updated_at for c in (answered, resumed, waiting)]
    v2 = routing.operations  # the new calendar, as the services read it
    with store.uow() as uow:
        office = v2(uow).calendars["office"]
    created = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
    a, r, w = load(store, answered), load(store, resumed), load(store, waiting)
    # the first response was given: that clock and its deadline are history
    assert a.first_response_due_at == answered.first_response_due_at
    assert a.resolve_due_at == bh.add(office, created, 24 * H) != answered.resolve_due_at
    # resumed: the working time it stood still is added to every target
    assert r.first_response_due_at == bh.add(office, created, 4 * H + 8 * H)
    assert r.resolve_due_at == bh.add(office, created, 24 * H + 8 * H)
    assert r.sla_warn_at == bh.add(office, created, 18 * H + 8 * H)
    # paused now: a running clock's deadlines (resuming moves them on, as always)
    assert (w.sla_paused_at, w.sla_paused_seconds) == (waiting.sla_paused_at, 0)
    assert deadlines(w) == (bh.add(office, created, 8 * H), bh.add(office, created, 40 * H),
                            bh.add(office, created, 30 * H))
    clock.advance(hours=2)
    with store.uow() as uow:
        cases.set_status(uow, world["agent"], uow.session.get(Case, waiting.id), "in_progress")
    stood = bh.between(office, waiting.sla_paused_at, clock.now())
    assert load(store, waiting).resolve_due_at == bh.add(office, created, 40 * H + stood)


def test_flags_are_cleared_where_the_deadlines_moved_into_the_future_and_never_set(store, world, clock):
    set_clock(clock, datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM) - timedelta(seconds=1))  # Monday
    apply(store, clock, ops_text())
    monday = new_case(store, world, priority=1, title="Monday")
    set_clock(clock, datetime(2026, 11, 25, 10, 0, tzinfo=STOCKHOLM))  # Wednesday
    wednesday = new_case(store, world, priority=1, title="Wednesday")
    answered_late = new_case(store, world, priority=1, title="Answered late")
    set_clock(clock, datetime(2026, 11, 26, 9, 30, tzinfo=STOCKHOLM))  # Thursday
    fresh = new_case(store, world, priority=1, title="Fresh")
    with store.uow() as uow:
        warned, breached = routing.sweep_sla(uow, world["agent"])
        cases.add_activity(uow, world["agent"], uow.session.get(Case, answered_late.id), kind="phone_call",
                           body="Sorry for the wait", direction="outbound", duration_seconds=60)
    assert set(warned) == set(breached) == {monday.number, wednesday.number, answered_late.number}

    # Wednesday and Thursday become holidays: Wednesday's cases start counting on Friday
    apply(store, clock, ops_text(office_holidays='["2026-11-25", "2026-11-26"]'))
    report = recompute(store)
    m, w, late, f = (load(store, c) for c in (monday, wednesday, answered_late, fresh))
    assert (m.sla_warned, m.sla_breached) == (True, True)  # still late under the new calendar
    assert (w.sla_warned, w.sla_breached) == (False, False)
    assert w.first_response_due_at == datetime(2026, 11, 27, 10, 0, tzinfo=STOCKHOLM)
    # its warning is in the future again, but the first response came after its deadline
    assert (late.sla_warned, late.sla_breached) == (False, True)
    assert (f.sla_warned, f.sla_breached) == (False, False)
    assert (report.cleared_warning, report.cleared_breach) == (2, 1)

    # around the clock from now on: the fresh case's first response (1 h) is overdue, but
    # recomputing sets no flag; the sweep does, with its timeline entry
    clock.advance(hours=2)
    apply(store, clock, ops_text(office_hours='["00:00-24:00"]'))
    recompute(store)
    assert (load(store, fresh).sla_breached, load(store, wednesday).sla_breached) == (False, False)
    with store.uow() as uow:
        _, breached = routing.sweep_sla(uow, world["agent"])
    assert fresh.number in breached and wednesday.number in breached


def test_cases_whose_policy_is_gone_are_counted_and_left_alone(store, gold, clock, caplog):
    world = gold
    apply(store, clock, ops_text())
    golden = [new_case(store, world, customer="ada", title=f"Gold {i}") for i in range(3)]
    plain = new_case(store, world, title="Plain")
    assert {load(store, c).sla_policy for c in golden} == {"gold"}
    apply(store, clock, ops_text(**V2, gold=False))
    with caplog.at_level(logging.WARNING, logger="caseterm.sla"):
        report = recompute(store, batch=2)
    assert (report.examined, report.orphaned, report.changed) == (4, 3, 1)
    assert [deadlines(load(store, c)) for c in golden] == [deadlines(c) for c in golden]
    assert deadlines(load(store, plain)) != deadlines(plain)
    [record] = [r for r in caplog.records if r.name == "caseterm.sla"]
    assert "3 with policy 'gold' (gone)" in record.getMessage()


def test_closed_and_deleted_cases_and_cases_without_a_policy_are_not_touched(store, world, clock):
    apply(store, clock, ops_text())
    resolved = new_case(store, world, title="Resolved")
    gone = new_case(store, world, title="Deleted")
    with store.uow() as uow:
        cases.resolve_case(uow, world["agent"], uow.session.get(Case, resolved.id), "Fixed")
        row = uow.session.get(Case, gone.id)
        uow.update(row, world["admin"].id, "delete", deleted=True)
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("UPDATE cases SET sla_policy = NULL, resolve_due_at = NULL WHERE id = ?",
                     (new_case(store, world, title="No policy").id.hex,))
    conn.close()
    before = raw(store, resolved, "*"), raw(store, gone, "*")
    apply(store, clock, ops_text(**V2))
    report = recompute(store)
    assert (report.examined, report.changed) == (0, 0)
    assert (raw(store, resolved, "*"), raw(store, gone, "*")) == before


def test_a_store_without_operations_does_nothing(store, world, clock):
    made = new_case(store, world)
    calls = []
    report = recompute(store, progress=lambda done, total: calls.append((done, total)))
    assert (report.examined, report.changed, report.orphaned) == (0, 0, 0)
    assert calls == [(1, 1)]
    assert raw(store, made, "resolve_due_at, sla_policy") == (None, None)


def test_progress_goes_batch_by_batch_and_a_stopped_run_leaves_whole_rows(store, world, clock):
    apply(store, clock, ops_text())
    made = [new_case(store, world, priority=1 + i % 4, title=f"Case {i}") for i in range(7)]
    apply(store, clock, ops_text(**V2))

    class Stop(Exception):
        pass

    def stop_after_two(done, total):
        calls.append((done, total))
        if done >= 4:
            raise Stop

    calls: list = []
    with pytest.raises(Stop):
        recompute(store, progress=stop_after_two, batch=2)
    assert calls == [(2, 7), (4, 7)]
    fresh = [deadlines(load(store, c)) for c in made]
    assert fresh[:4] != [deadlines(c) for c in made[:4]]  # written, batch by batch
    assert fresh[4:] == [deadlines(c) for c in made[4:]]  # not yet
    calls = []
    report = recompute(store, progress=lambda done, total: calls.append((done, total)), batch=3)
    assert calls == [(3, 7), (6, 7), (7, 7)]
    assert (report.changed, report.unchanged) == (3, 4)
    with store.uow() as uow:
        office = routing.operations(uow).calendars["office"]
        rows = uow.session.exec(select(Case).where(Case.id.in_([c.id for c in made]))).all()
    for row in rows:
        target = {1: 8, 2: 16, 3: 24, 4: 40}[row.priority] * H
        assert row.resolve_due_at == bh.add(office, row.created_at, target)
        assert row.resolve_due_at.tzinfo is not None


def test_every_stored_text_form_of_an_instant_is_read(store, world, clock):
    apply(store, clock, ops_text())
    made = new_case(store, world, title="Odd text")
    conn = sqlite3.connect(store.path)
    with conn:  # written by some other tool: no fraction, a T, an offset
        conn.execute("UPDATE cases SET created_at = '2026-11-25T10:00:00+01:00', resolve_due_at = '2026-11-30 09:00:00' "
                     "WHERE id = ?", (made.id.hex,))
    conn.close()
    report = recompute(store)
    assert report.changed == 1  # the same instants, written in the store's own form
    row = load(store, made)
    assert row.resolve_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=STOCKHOLM)  # 24 office hours from Wed 10:00
    assert raw(store, made, "resolve_due_at") == ("2026-11-30 09:00:00.000000",)


def test_a_holiday_on_the_day_moves_deadlines(store, world, clock):
    set_clock(clock, datetime(2026, 11, 25, 9, 0, tzinfo=UTC) - timedelta(seconds=1))
    apply(store, clock, ops_text())
    made = new_case(store, world, priority=1)  # Wednesday 10:00 in Stockholm: 8 h resolve
    assert made.resolve_due_at == datetime(2026, 11, 26, 10, 0, tzinfo=STOCKHOLM)
    apply(store, clock, ops_text(office_holidays=f'["{date(2026, 11, 26)}"]'))
    recompute(store)
    assert load(store, made).resolve_due_at == datetime(2026, 11, 27, 10, 0, tzinfo=STOCKHOLM)
