"""The small rules behind what people type and see: durations, field checks, case
numbers, role permissions, vocabulary parsing, ids and the injected clock.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseterm.clock import FixedClock, SystemClock, default_clock, ensure_utc, parse_instant
from caseterm.domain import validate
from caseterm.domain.durations import format_duration, parse_duration
from caseterm.domain.enums import CaseState, Origin, Priority, Role, StatusReason
from caseterm.domain.numbers import format_number, normalise_number, valid_device_code
from caseterm.domain.permissions import allowed, require
from caseterm.errors import PermissionDenied, ValidationError
from caseterm.ids import uuid7

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
PROPERTY = settings(max_examples=200, deadline=None, database=None)


# ---------------------------------------------------------------------------
# durations
# ---------------------------------------------------------------------------


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("90", 90),
            ("90s", 90),
            ("5m", 300),
            ("1h30m", 5400),
            ("4:30", 270),
            (" 1h 30m ", 5400),
            ("2H", 7200),
            ("1h0m5s", 3605),
            ("0", 0),
        ],
    )
    def test_accepts_what_people_type(self, text, seconds):
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["abc", "5x", "", "   ", "1h30", "h", "-5m", "1.5h", "4:300"])
    def test_rejects_anything_else_naming_the_field(self, text):
        with pytest.raises(ValidationError) as info:
            parse_duration(text)
        assert info.value.field == "duration"
        assert str(info.value).startswith(f"duration: '{text}' is not a duration")
        assert "1h30m" in str(info.value)  # shows an example of what works

    def test_the_caller_names_the_field(self):
        with pytest.raises(ValidationError) as info:
            parse_duration("soon", field="time spent")
        assert info.value.field == "time spent"
        assert str(info.value).startswith("time spent: ")

    @PROPERTY
    @given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
    def test_hours_minutes_seconds_add_up(self, h, m, s):
        assert parse_duration(f"{h}h{m}m{s}s") == h * 3600 + m * 60 + s
        assert parse_duration(f" {h}h {m}m {s}s ") == h * 3600 + m * 60 + s

    def test_superscript_digits_are_a_validation_error(self):
        with pytest.raises(ValidationError):
            parse_duration("²")


class TestFormatDuration:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [(None, ""), (0, "0m00s"), (5, "0m05s"), (90, "1m30s"), (3599, "59m59s"), (3600, "1h00m"), (5400, "1h30m"), (3661, "1h01m")],
    )
    def test_formats_as_minutes_and_seconds_or_hours_and_minutes(self, seconds, text):
        assert format_duration(seconds) == text

    @PROPERTY
    @given(st.integers(0, 3599))
    def test_under_an_hour_round_trips(self, seconds):
        assert parse_duration(format_duration(seconds)) == seconds

    @PROPERTY
    @given(st.integers(60, 10_000))
    def test_whole_minutes_round_trip(self, minutes):
        assert parse_duration(format_duration(minutes * 60)) == minutes * 60


# ---------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------


class TestRequiredLine:
    def test_trims_and_collapses_whitespace(self):
        assert validate.required_line("name", "  Ada \t  Lovelace \n") == "Ada Lovelace"

    @pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
    def test_rejects_empty(self, value):
        with pytest.raises(ValidationError) as info:
            validate.required_line("name", value)
        assert info.value.field == "name"
        assert str(info.value) == "name: must not be empty"

    def test_rejects_too_long_saying_how_long(self):
        assert validate.required_line("title", "x" * 200) == "x" * 200
        with pytest.raises(ValidationError) as info:
            validate.required_line("title", "x" * 201)
        assert info.value.field == "title"
        assert str(info.value) == "title: is 201 characters long; at most 200 are allowed"

    def test_length_is_counted_after_collapsing(self):
        assert validate.required_line("title", "a" + " " * 300 + "b", max_len=3) == "a b"
        with pytest.raises(ValidationError, match="at most 2"):
            validate.required_line("title", "a b", max_len=2)

    def test_optional_line_turns_blank_into_none(self):
        assert validate.optional_line("note", "   ") is None
        assert validate.optional_line("note", " a  b ") == "a b"
        with pytest.raises(ValidationError, match="^note: is 4 characters long"):
            validate.optional_line("note", "abcd", max_len=3)

    def test_body_text_keeps_inner_lines(self):
        assert validate.body_text("body", "  line one\n\nline two  ") == "line one\n\nline two"
        with pytest.raises(ValidationError, match="^body: must not be empty"):
            validate.body_text("body", "  ", required=True)


class TestEmail:
    def test_normalises_case_and_whitespace(self):
        assert validate.email("email", "  Ada@Example.ORG ") == "ada@example.org"

    @pytest.mark.parametrize("value", [None, "", "   "])
    def test_blank_means_no_email(self, value):
        assert validate.email("email", value) is None

    @pytest.mark.parametrize("value", ["a@b", "no-at.example", "a b@c.d", "a@@b.c", "@example.org"])
    def test_rejects_non_addresses_quoting_them(self, value):
        with pytest.raises(ValidationError) as info:
            validate.email("contact email", value)
        assert info.value.field == "contact email"
        assert f"'{value}' is not an email address" in str(info.value)

    def test_rejects_overlong_addresses(self):
        with pytest.raises(ValidationError):
            validate.email("email", "a" * 250 + "@example.org")


class TestPhone:
    def test_returns_typed_form_and_digits(self):
        assert validate.phone("phone", "+46 70-123 45 67") == ("+46 70-123 45 67", "46701234567")
        assert validate.phone("phone", "(020) 7946.0001") == ("(020) 7946.0001", "02079460001")

    def test_typed_form_is_trimmed_and_collapsed(self):
        assert validate.phone("phone", "  +44   20 7946 0001 ") == ("+44 20 7946 0001", "442079460001")

    def test_blank_means_no_phone(self):
        assert validate.phone("phone", "  ") == (None, None)
        assert validate.phone("phone", None) == (None, None)

    @pytest.mark.parametrize("value", ["0701abc567", "call me", "12345", "1" * 21, "+46#701234567"])
    def test_rejects_letters_and_wrong_lengths(self, value):
        with pytest.raises(ValidationError) as info:
            validate.phone("mobile", value)
        assert info.value.field == "mobile"
        assert "is not a phone number (6 to 20 digits" in str(info.value)

    def test_six_and_twenty_digits_are_the_bounds(self):
        assert validate.phone("phone", "123456")[1] == "123456"
        assert validate.phone("phone", "1" * 20)[1] == "1" * 20


class TestPositiveInt:
    @pytest.mark.parametrize(("value", "number"), [("5", 5), (" 7 ", 7), (3, 3), ("10", 10)])
    def test_accepts_whole_numbers(self, value, number):
        assert validate.positive_int("quantity", value, maximum=10) == number

    def test_zero_only_when_allowed(self):
        with pytest.raises(ValidationError, match="^quantity: must be at least 1$"):
            validate.positive_int("quantity", "0")
        assert validate.positive_int("quantity", "0", allow_zero=True) == 0
        with pytest.raises(ValidationError, match="^quantity: must be at least 0$"):
            validate.positive_int("quantity", -1, allow_zero=True)

    def test_maximum_is_inclusive_and_named(self):
        with pytest.raises(ValidationError, match="^quantity: must be between 1 and 10$"):
            validate.positive_int("quantity", "11", maximum=10)

    @pytest.mark.parametrize("value", ["abc", "1.5", "", "2 3"])
    def test_rejects_non_numbers(self, value):
        with pytest.raises(ValidationError) as info:
            validate.positive_int("quantity", value)
        assert info.value.field == "quantity"
        assert f"'{value}' is not a whole number" in str(info.value)


class TestMoney:
    @pytest.mark.parametrize(
        ("value", "amount"),
        [("19.9", "19.90"), ("19.999", "20.00"), (5, "5.00"), ("0", "0.00"), (" 12.345 ", "12.35"), ("0.005", "0.01"), ("0.004", "0.00"), (Decimal("7.5"), "7.50")],
    )
    def test_quantises_to_cents_rounding_half_up(self, value, amount):
        result = validate.money("unit price", value)
        assert result == Decimal(amount)
        assert str(result) == amount

    @pytest.mark.parametrize("value", ["-1", "-0.01", "NaN", "Infinity", "-Infinity", "sNaN"])
    def test_rejects_negative_and_non_finite(self, value):
        with pytest.raises(ValidationError) as info:
            validate.money("unit price", value)
        assert info.value.field == "unit price"
        assert str(info.value) == "unit price: must be zero or more"

    @pytest.mark.parametrize("value", ["abc", "", "12,50", "1.2.3"])
    def test_rejects_non_amounts(self, value):
        with pytest.raises(ValidationError) as info:
            validate.money("unit price", value)
        assert f"'{value}' is not an amount (for example 19.99)" in str(info.value)

    def test_huge_amounts_are_a_validation_error(self):
        with pytest.raises(ValidationError):
            validate.money("unit price", "1e30")

    def test_minus_zero_is_shown_as_zero(self):
        assert str(validate.money("unit price", "-0")) == "0.00"


# ---------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------


class TestNumbers:
    def test_format_pads_the_sequence(self):
        assert format_number("CAS", "LOC", 12) == "CAS-LOC-000012"
        assert format_number("RMA", "AB12", 1_234_567) == "RMA-AB12-1234567"

    @pytest.mark.parametrize(
        ("typed", "number"),
        [
            ("cas-loc-12", "CAS-LOC-000012"),
            ("  rma-ab12-7 ", "RMA-AB12-000007"),
            ("CAS-LOC-000012", "CAS-LOC-000012"),
            ("ka-hq-0000042", "KA-HQ-000042"),
        ],
    )
    def test_normalise_finds_the_canonical_number(self, typed, number):
        assert normalise_number(typed) == number

    @pytest.mark.parametrize(
        ("typed", "result"),
        [("hello world", "HELLO WORLD"), ("ada@example.org", "ADA@EXAMPLE.ORG"), ("cas-loc", "CAS-LOC"), ("cas-loc-1234567890", "CAS-LOC-1234567890")],
    )
    def test_other_text_passes_through_upper_cased(self, typed, result):
        assert normalise_number(typed) == result

    @PROPERTY
    @given(st.text(max_size=30))
    def test_normalise_is_idempotent(self, text):
        once = normalise_number(text)
        assert normalise_number(once) == once

    @PROPERTY
    @given(st.sampled_from(["CAS", "RMA", "KA"]), st.from_regex(r"[A-Z0-9]{2,6}", fullmatch=True), st.integers(0, 999_999_999))
    def test_every_formatted_number_normalises_to_itself(self, prefix, device, seq):
        number = format_number(prefix, device, seq)
        assert normalise_number(number.lower()) == number

    def test_device_codes(self):
        assert valid_device_code("LOC")
        assert valid_device_code("AB12CD")
        assert not valid_device_code("A")
        assert not valid_device_code("ABCDEFG")
        assert not valid_device_code("loc")


# ---------------------------------------------------------------------------
# permissions
# ---------------------------------------------------------------------------


class TestPermissions:
    def test_a_clerk_cannot_merge(self):
        assert not allowed("clerk", "merge_cases")
        with pytest.raises(PermissionDenied) as info:
            require("clerk", "merge_cases")
        assert str(info.value) == "merging cases needs the role admin, agent, supervisor; you are clerk"
        assert info.value.to_dict()["error"] == "permission"

    @pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
    def test_agents_and_up_can_merge(self, role):
        assert allowed(role, "merge_cases")
        require(role, "merge_cases")

    @pytest.mark.parametrize("role", ["supervisor", "admin"])
    def test_supervisors_can_force_resolve_and_override_the_window(self, role):
        assert allowed(role, "force_resolve_parent")
        assert allowed(role, "override_reopen_window")
        require(role, "force_resolve_parent")
        require(role, "override_reopen_window")

    @pytest.mark.parametrize("role", ["agent", "clerk", "technician"])
    def test_others_cannot_override_the_reopen_window(self, role):
        with pytest.raises(PermissionDenied) as info:
            require(role, "override_reopen_window")
        assert str(info.value) == (
            f"reopening a case after the reopen window needs the role admin, supervisor; you are {role}"
        )

    def test_an_agent_cannot_force_resolve_a_parent(self):
        with pytest.raises(PermissionDenied, match="^resolving a parent case while its children are active needs"):
            require("agent", "force_resolve_parent")

    def test_a_role_enum_reads_the_same_as_its_value(self):
        with pytest.raises(PermissionDenied, match="you are clerk$"):
            require(Role.CLERK, "merge_cases")

    @pytest.mark.parametrize("role", [r.value for r in Role])
    def test_unlisted_actions_are_open_to_everyone(self, role):
        assert allowed(role, "add_note")
        require(role, "add_note")


# ---------------------------------------------------------------------------
# enums: parsing what people type
# ---------------------------------------------------------------------------


class TestParse:
    @pytest.mark.parametrize("typed", ["in-progress", "IN PROGRESS", "in_progress", " In-Progress "])
    def test_status_accepts_dashes_spaces_and_any_case(self, typed):
        assert StatusReason.parse(typed, "status") is StatusReason.IN_PROGRESS

    def test_other_vocabularies_parse_the_same_way(self):
        assert CaseState.parse("Resolved", "state") is CaseState.RESOLVED
        assert Origin.parse("IOT", "origin") is Origin.IOT
        assert StatusReason.parse("waiting for customer", "status") is StatusReason.WAITING_FOR_CUSTOMER

    def test_unknown_value_names_the_field_and_lists_the_options(self):
        with pytest.raises(ValidationError) as info:
            Origin.parse("fax", "origin")
        assert info.value.field == "origin"
        assert str(info.value) == "origin: 'fax' is not one of phone, email, web, chat, store, field, iot"

    def test_unknown_status_lists_every_status(self):
        with pytest.raises(ValidationError) as info:
            StatusReason.parse("done", "new status")
        assert info.value.field == "new status"
        assert all(s.value in str(info.value) for s in StatusReason)

    @pytest.mark.parametrize("typed", ["high", "HIGH", " High ", "2", 2])
    def test_priority_by_name_or_number(self, typed):
        assert Priority.parse(typed) is Priority.HIGH

    def test_every_priority_parses_by_name_and_number(self):
        for p in Priority:
            assert Priority.parse(p.name.lower()) is p
            assert Priority.parse(str(p.value)) is p

    @pytest.mark.parametrize("typed", ["urgent", "0", "5", "", "high!"])
    def test_unknown_priority_lists_the_options(self, typed):
        with pytest.raises(ValidationError) as info:
            Priority.parse(typed)
        assert info.value.field == "priority"
        assert f"'{typed}' is not a priority" in str(info.value)
        assert "1 (critical), 2 (high), 3 (normal) or 4 (low)" in str(info.value)

    def test_priority_field_name_can_be_given(self):
        with pytest.raises(ValidationError) as info:
            Priority.parse("urgent", field="new priority")
        assert info.value.field == "new priority"

    def test_labels_read_as_words(self):
        assert StatusReason.WAITING_FOR_CUSTOMER.label == "Waiting for customer"
        assert Priority.CRITICAL.label == "Critical"


# ---------------------------------------------------------------------------
# ids
# ---------------------------------------------------------------------------


def _ms(u: uuid.UUID) -> int:
    return u.int >> 80


class TestUuid7:
    def test_version_and_variant(self):
        u = uuid7()
        assert u.version == 7
        assert u.variant == uuid.RFC_4122

    def test_ten_thousand_ids_strictly_increase(self):
        before = time.time_ns() // 1_000_000
        ids = [uuid7() for _ in range(10_000)]
        after = time.time_ns() // 1_000_000
        assert all(a < b for a, b in zip(ids, ids[1:]))
        # The store keeps ids as hex text: the text must sort the same way.
        hexes = [u.hex for u in ids]
        assert hexes == sorted(hexes)
        assert len(set(hexes)) == len(hexes)
        assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
        # Embedded milliseconds are the wall clock (a few ms of counter overflow borrowing allowed).
        assert before - 1 <= _ms(ids[0]) <= _ms(ids[-1]) <= after + 50

    def test_timestamp_is_close_to_now(self):
        u = uuid7()
        assert abs(_ms(u) - time.time() * 1000) < 1000


# ---------------------------------------------------------------------------
# clock
# ---------------------------------------------------------------------------


class TestClock:
    def test_fixed_clock_stands_still_until_advanced(self):
        clock = FixedClock(NOW)
        assert clock.now() == NOW
        assert clock.now() == NOW
        assert clock.advance(timedelta(minutes=5)) == NOW + timedelta(minutes=5)
        assert clock.now() == NOW + timedelta(minutes=5)
        assert clock.advance(hours=1, seconds=30) == NOW + timedelta(hours=1, minutes=5, seconds=30)
        assert clock.now() == NOW + timedelta(hours=1, minutes=5, seconds=30)

    def test_fixed_clock_takes_naive_times_as_utc(self):
        clock = FixedClock(datetime(2026, 11, 25, 9, 0))
        assert clock.now() == NOW
        assert clock.now().utcoffset() == timedelta(0)

    @pytest.mark.parametrize(
        "text",
        ["2026-11-25T09:00:00Z", "2026-11-25T09:00:00", "2026-11-25T10:00:00+01:00", " 2026-11-25 09:00:00+00:00 "],
    )
    def test_parse_instant_gives_aware_utc(self, text):
        instant = parse_instant(text)
        assert instant == NOW
        assert instant.tzinfo is not None
        assert instant.utcoffset() == timedelta(0)
        assert instant.hour == 9

    def test_parse_instant_rejects_garbage(self):
        with pytest.raises(ValueError):
            parse_instant("yesterday")

    def test_ensure_utc_converts_aware_times(self):
        cet = timezone(timedelta(hours=1))
        assert ensure_utc(datetime(2026, 11, 25, 10, 0, tzinfo=cet)).hour == 9

    def test_system_clock_is_aware_utc_and_current(self):
        now = SystemClock().now()
        assert now.utcoffset() == timedelta(0)
        assert abs(now.timestamp() - time.time()) < 5

    def test_caseterm_clock_freezes_the_default_clock(self, monkeypatch):
        monkeypatch.setenv("CASETERM_CLOCK", "2026-11-25T09:00:00Z")
        clock = default_clock()
        assert isinstance(clock, FixedClock)
        assert clock.now() == NOW

    def test_without_caseterm_clock_time_moves(self):
        assert isinstance(default_clock(), SystemClock)


# ---------------------------------------------------------------------------
# loose input seen in review
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1:75", "1h1h", "5m1h", "1s2m"], ids=["seconds-over-59", "unit-twice", "m-before-h", "s-before-m"])
def test_ambiguous_durations_are_refused(text):
    with pytest.raises(ValidationError, match="not a duration"):
        parse_duration(text)


def test_negative_durations_format_as_zero():
    assert format_duration(-30) == "0m00s"


def test_an_unknown_role_is_a_validation_error():
    from caseterm.domain import permissions

    with pytest.raises(ValidationError, match="role: 'janitor' is not one of"):
        permissions.allowed("janitor", "merge_cases")


def test_lowercase_z_is_utc():
    assert parse_instant("2026-11-25T09:00:00z") == NOW


def test_a_blank_master_case_is_refused():
    from caseterm.domain.case_lifecycle import Lifecycle, merge_into

    with pytest.raises(ValidationError, match="master case"):
        merge_into(Lifecycle(), "   ", NOW)
