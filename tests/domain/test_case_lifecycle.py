"""The case state machine (caseterm.domain.case_lifecycle).

Two halves:

* readable examples of each rule a person meets at the desk (resolve needs a text,
  the reopen window, merged is final, parent/child checks);
* hypothesis properties that drive a fresh ``Lifecycle`` through random sequences of
  attempted actions and check that every reachable lifecycle is valid, refusals are
  CasetermErrors that leave the case untouched and name what *is* allowed, and the
  outcome of each attempt matches the transition table in the module docstring.

The domain never reads the clock: every ``now`` is START plus a timedelta.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from caseterm.domain.case_lifecycle import (
    CANCEL,
    DEFAULT_REOPEN_DAYS,
    MERGE,
    REOPEN,
    RESOLVE,
    Lifecycle,
    allowed_actions,
    cancel,
    check_no_cycle,
    check_parent_resolvable,
    is_valid,
    merge_into,
    reopen,
    resolve,
    set_status,
    settable_statuses,
)
from caseterm.domain.enums import CaseState, StatusReason
from caseterm.errors import CasetermError, RuleError, TransitionError, ValidationError

START = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
WINDOW = timedelta(days=DEFAULT_REOPEN_DAYS)

# Small enough that the whole tests/domain suite stays well under 20 s; the domain
# functions are pure and cheap, so each example (up to 30 steps) costs microseconds.
# database=None: no .hypothesis/ directory is written outside tests/.
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ACTIVE_WORK = [
    StatusReason.IN_PROGRESS,
    StatusReason.ON_HOLD,
    StatusReason.WAITING_FOR_CUSTOMER,
    StatusReason.RESEARCHING,
]


def resolved_case(at: datetime = START, text: str = "Replaced the fuse") -> Lifecycle:
    return resolve(Lifecycle(), text, at)


# ---------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------


class TestFreshCase:
    def test_a_new_case_is_active_and_new_and_valid(self):
        lc = Lifecycle()
        assert (lc.state, lc.status) == (CaseState.ACTIVE, StatusReason.NEW)
        assert lc.describe() == "Active (new)"
        assert is_valid(lc)

    def test_a_new_case_offers_every_working_status_and_the_verbs(self):
        assert allowed_actions(Lifecycle()) == [
            "in progress",
            "on hold",
            "waiting for customer",
            "researching",
            RESOLVE,
            CANCEL,
            MERGE,
        ]

    def test_settable_statuses_never_offers_new_or_the_current_status(self):
        lc = set_status(Lifecycle(), StatusReason.ON_HOLD)
        options = settable_statuses(lc)
        assert StatusReason.NEW not in options
        assert StatusReason.ON_HOLD not in options
        assert options == [StatusReason.IN_PROGRESS, StatusReason.WAITING_FOR_CUSTOMER, StatusReason.RESEARCHING]

    @pytest.mark.parametrize(
        "lc",
        [resolved_case(), cancel(Lifecycle(), START), merge_into(Lifecycle(), "CAS-LOC-000001", START)],
        ids=["resolved", "cancelled", "merged"],
    )
    def test_a_closed_case_has_no_settable_statuses(self, lc):
        assert settable_statuses(lc) == []


class TestSetStatus:
    @pytest.mark.parametrize("target", ACTIVE_WORK)
    def test_any_working_status_can_be_set_from_new(self, target):
        lc = set_status(Lifecycle(), target)
        assert lc.state is CaseState.ACTIVE
        assert lc.status is target
        assert is_valid(lc)

    def test_setting_the_current_status_again_is_a_rule_error(self):
        lc = set_status(Lifecycle(), StatusReason.IN_PROGRESS)
        with pytest.raises(RuleError, match="already in progress"):
            set_status(lc, StatusReason.IN_PROGRESS)

    def test_setting_new_on_a_new_case_says_it_is_already_new(self):
        with pytest.raises(RuleError, match="already new"):
            set_status(Lifecycle(), StatusReason.NEW)

    def test_a_case_cannot_be_put_back_to_new(self):
        lc = set_status(Lifecycle(), StatusReason.RESEARCHING)
        with pytest.raises(TransitionError) as info:
            set_status(lc, StatusReason.NEW, subject="CAS-LOC-000007")
        err = info.value
        assert str(err) == (
            "CAS-LOC-000007 cannot go from Active (researching) to new; "
            "allowed: in progress, on hold, waiting for customer, resolve, cancel, merge"
        )
        assert err.allowed == allowed_actions(lc)
        assert err.to_dict()["error"] == "transition"
        assert err.to_dict()["allowed"] == err.allowed

    @pytest.mark.parametrize(
        "target",
        [StatusReason.PROBLEM_SOLVED, StatusReason.INFORMATION_PROVIDED, StatusReason.CANCELLED, StatusReason.MERGED],
    )
    def test_closing_statuses_have_their_own_verbs(self, target):
        with pytest.raises(TransitionError) as info:
            set_status(Lifecycle(), target)
        assert RESOLVE in str(info.value) and CANCEL in str(info.value) and MERGE in str(info.value)

    def test_a_resolved_case_must_be_reopened_before_its_status_changes(self):
        with pytest.raises(TransitionError) as info:
            set_status(resolved_case(), StatusReason.IN_PROGRESS)
        assert info.value.allowed == [REOPEN]
        assert str(info.value).endswith("allowed: reopen")


class TestResolve:
    @pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
    def test_resolve_needs_a_resolution_text(self, text):
        with pytest.raises(ValidationError) as info:
            resolve(Lifecycle(), text, START)
        assert info.value.field == "resolution"
        assert str(info.value).startswith("resolution: ")
        assert "say what solved it" in str(info.value)

    def test_resolve_keeps_the_trimmed_text_and_the_time(self):
        lc = resolve(set_status(Lifecycle(), StatusReason.IN_PROGRESS), "  Replaced the fuse \n", START)
        assert lc.state is CaseState.RESOLVED
        assert lc.status is StatusReason.PROBLEM_SOLVED
        assert lc.resolution == "Replaced the fuse"
        assert lc.resolved_at == START
        assert lc.describe() == "Resolved (problem solved)"
        assert allowed_actions(lc) == [REOPEN]

    def test_resolve_as_information_provided(self):
        lc = resolve(Lifecycle(), "Told them the opening hours", START, kind=StatusReason.INFORMATION_PROVIDED)
        assert lc.status is StatusReason.INFORMATION_PROVIDED

    @pytest.mark.parametrize("kind", [StatusReason.IN_PROGRESS, StatusReason.CANCELLED, StatusReason.MERGED])
    def test_resolve_kind_must_be_a_resolved_status(self, kind):
        with pytest.raises(ValidationError) as info:
            resolve(Lifecycle(), "done", START, kind=kind)
        assert info.value.field == "resolution kind"
        assert "problem solved or information provided" in str(info.value)

    def test_a_resolved_case_cannot_be_resolved_again(self):
        with pytest.raises(TransitionError, match="from Resolved \\(problem solved\\) to resolved; allowed: reopen"):
            resolve(resolved_case(), "again", START + DAY)


class TestReopen:
    def test_reopen_within_the_window_goes_back_to_in_progress(self):
        lc = reopen(resolved_case(START), START + timedelta(days=29))
        assert lc.state is CaseState.ACTIVE
        assert lc.status is StatusReason.IN_PROGRESS
        assert lc.reopen_count == 1
        assert lc.resolution is None
        assert lc.resolved_at is None
        assert is_valid(lc)

    def test_reopen_count_counts_every_reopen(self):
        lc = Lifecycle()
        for i in range(1, 4):
            lc = resolve(lc, f"fix number {i}", START + i * DAY)
            lc = reopen(lc, START + i * DAY + timedelta(hours=1))
            assert lc.reopen_count == i

    def test_the_last_day_of_the_window_still_counts(self):
        assert reopen(resolved_case(START), START + WINDOW).state is CaseState.ACTIVE

    def test_reopen_after_the_window_is_refused_with_the_way_forward(self):
        lc = resolved_case(START)
        with pytest.raises(RuleError) as info:
            reopen(lc, START + timedelta(days=45), subject="CAS-LOC-000003")
        message = str(info.value)
        assert message.startswith(f"CAS-LOC-000003 was resolved on {START:%Y-%m-%d}, more than 30 days ago")
        assert f"within {DEFAULT_REOPEN_DAYS} days" in message
        assert "Create a new case" in message and "supervisor" in message

    def test_one_second_past_the_window_is_refused(self):
        with pytest.raises(RuleError):
            reopen(resolved_case(START), START + WINDOW + timedelta(seconds=1))

    def test_override_reopens_after_the_window(self):
        lc = reopen(resolved_case(START), START + timedelta(days=400), override=True)
        assert (lc.state, lc.status, lc.reopen_count) == (CaseState.ACTIVE, StatusReason.IN_PROGRESS, 1)
        assert lc.resolution is None and lc.resolved_at is None

    def test_the_window_length_is_a_setting(self):
        lc = resolved_case(START)
        assert reopen(lc, START + 7 * DAY, reopen_days=7).state is CaseState.ACTIVE
        with pytest.raises(RuleError, match="within 7 days"):
            reopen(lc, START + 8 * DAY, reopen_days=7)

    def test_a_cancelled_case_can_be_reopened_whenever(self):
        cancelled = cancel(set_status(Lifecycle(), StatusReason.ON_HOLD), START)
        assert cancelled.describe() == "Cancelled (cancelled)"
        assert cancelled.cancelled_at == START
        assert allowed_actions(cancelled) == [REOPEN]
        lc = reopen(cancelled, START + timedelta(days=400))
        assert (lc.state, lc.status) == (CaseState.ACTIVE, StatusReason.IN_PROGRESS)
        assert lc.cancelled_at is None
        assert lc.reopen_count == 1

    def test_an_active_case_cannot_be_reopened(self):
        with pytest.raises(TransitionError, match="to active \\(reopened\\)"):
            reopen(Lifecycle(), START)


class TestMerge:
    def test_merge_points_at_the_master_case(self):
        lc = merge_into(Lifecycle(), "CAS-LOC-000001", START)
        assert (lc.state, lc.status) == (CaseState.CANCELLED, StatusReason.MERGED)
        assert lc.merged_into == "CAS-LOC-000001"
        assert lc.cancelled_at == START
        assert is_valid(lc)

    def test_merge_needs_a_master_case(self):
        with pytest.raises(ValidationError) as info:
            merge_into(Lifecycle(), "", START)
        assert info.value.field == "master case"

    def test_a_merged_case_is_final(self):
        lc = merge_into(Lifecycle(), "CAS-LOC-000001", START)
        assert allowed_actions(lc) == []
        for attempt in (
            lambda: reopen(lc, START, override=True),
            lambda: resolve(lc, "fixed", START),
            lambda: cancel(lc, START),
            lambda: merge_into(lc, "CAS-LOC-000002", START),
            lambda: set_status(lc, StatusReason.IN_PROGRESS),
        ):
            with pytest.raises(TransitionError) as info:
                attempt()
            assert str(info.value).endswith("allowed: none")

    def test_a_cancelled_case_cannot_then_be_merged(self):
        with pytest.raises(TransitionError, match="allowed: reopen"):
            merge_into(cancel(Lifecycle(), START), "CAS-LOC-000001", START)


class TestParentAndChildren:
    def test_a_parent_with_active_children_cannot_be_resolved(self):
        with pytest.raises(RuleError) as info:
            check_parent_resolvable(["CAS-LOC-000002", "CAS-LOC-000005"], force=False, subject="CAS-LOC-000001")
        message = str(info.value)
        assert message.startswith("CAS-LOC-000001 has 2 active child case(s)")
        assert "CAS-LOC-000002" in message and "CAS-LOC-000005" in message
        assert "force" in message

    def test_force_resolves_a_parent_anyway(self):
        assert check_parent_resolvable(["CAS-LOC-000002"], force=True) is None

    def test_a_parent_without_active_children_is_resolvable(self):
        assert check_parent_resolvable([], force=False) is None

    def test_a_long_list_of_children_is_cut_after_five(self):
        children = [f"CAS-LOC-{n:06d}" for n in range(1, 8)]
        with pytest.raises(RuleError) as info:
            check_parent_resolvable(children, force=False)
        message = str(info.value)
        assert "7 active child case(s)" in message
        assert all(c in message for c in children[:5])
        assert children[5] not in message and children[6] not in message
        assert "…" in message

    def test_linking_a_case_under_its_own_descendant_is_refused(self):
        # parent P has ancestors [P, G, C]: putting C under P would loop C -> P -> G -> C
        with pytest.raises(RuleError, match="its own ancestor"):
            check_no_cycle("C", ["P", "G", "C"])

    def test_a_case_cannot_be_its_own_parent(self):
        with pytest.raises(RuleError):
            check_no_cycle("A", ["A"])

    def test_linking_under_an_unrelated_case_is_fine(self):
        assert check_no_cycle("C", ["P", "G"]) is None
        assert check_no_cycle("C", []) is None


class TestIsValid:
    """is_valid is the oracle of the property tests, so check it can say no."""

    @pytest.mark.parametrize(
        "lc",
        [
            Lifecycle(state=CaseState.ACTIVE, status=StatusReason.PROBLEM_SOLVED),
            Lifecycle(state=CaseState.RESOLVED, status=StatusReason.PROBLEM_SOLVED, resolved_at=START),
            Lifecycle(state=CaseState.RESOLVED, status=StatusReason.PROBLEM_SOLVED, resolution="  ", resolved_at=START),
            Lifecycle(state=CaseState.RESOLVED, status=StatusReason.PROBLEM_SOLVED, resolution="fixed"),
            Lifecycle(resolution="left over"),
            Lifecycle(resolved_at=START),
            Lifecycle(state=CaseState.CANCELLED, status=StatusReason.MERGED),
        ],
        ids=[
            "status-of-other-state",
            "resolved-no-text",
            "resolved-blank-text",
            "resolved-no-time",
            "active-with-resolution",
            "active-with-resolved-at",
            "merged-without-master",
        ],
    )
    def test_broken_lifecycles_are_invalid(self, lc):
        assert not is_valid(lc)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SetStatus:
    target: StatusReason

    def __call__(self, lc: Lifecycle, now: datetime) -> Lifecycle:
        return set_status(lc, self.target)


@dataclass(frozen=True)
class Resolve:
    text: str | None
    kind: StatusReason

    def __call__(self, lc: Lifecycle, now: datetime) -> Lifecycle:
        return resolve(lc, self.text, now, kind=self.kind)


@dataclass(frozen=True)
class Cancel:
    def __call__(self, lc: Lifecycle, now: datetime) -> Lifecycle:
        return cancel(lc, now)


@dataclass(frozen=True)
class Merge:
    master: str

    def __call__(self, lc: Lifecycle, now: datetime) -> Lifecycle:
        return merge_into(lc, self.master, now)


@dataclass(frozen=True)
class Reopen:
    override: bool
    reopen_days: int

    def __call__(self, lc: Lifecycle, now: datetime) -> Lifecycle:
        return reopen(lc, now, reopen_days=self.reopen_days, override=self.override)


@dataclass(frozen=True)
class Step:
    """Let ``advance`` pass on the clock, then attempt ``action``."""

    advance: timedelta
    action: object


resolution_texts = st.one_of(
    st.sampled_from(["Replaced the fuse", "  sent the manual  ", "x"]),
    st.sampled_from([None, "", " ", "   \t\n"]),
    st.text(max_size=12),
)
resolution_kinds = st.one_of(
    st.sampled_from([StatusReason.PROBLEM_SOLVED, StatusReason.INFORMATION_PROVIDED]),
    st.sampled_from(list(StatusReason)),
)
# Offsets chosen to land either side of the reopen window (default 30 days; 0, 1 and 7 tried too).
advances = st.sampled_from(
    [
        timedelta(0),
        timedelta(seconds=1),
        timedelta(hours=1),
        DAY,
        7 * DAY,
        7 * DAY + timedelta(seconds=1),
        29 * DAY,
        WINDOW,
        WINDOW + timedelta(seconds=1),
        31 * DAY,
        365 * DAY,
    ]
)
resolves = st.builds(Resolve, resolution_texts, resolution_kinds)
reopens = st.builds(Reopen, st.booleans(), st.sampled_from([DEFAULT_REOPEN_DAYS, DEFAULT_REOPEN_DAYS, 7, 1, 0]))
merges = st.builds(Merge, st.sampled_from(["CAS-LOC-000001", "CAS-HQ-000042", "CAS-LOC-000001", ""]))
set_statuses = st.builds(SetStatus, st.sampled_from(list(StatusReason)))


def weighted(*pairs: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """Pick a strategy with the given relative weights, then draw from it."""
    return st.sampled_from([strategy for weight, strategy in pairs for _ in range(weight)]).flatmap(lambda s: s)


# Merging is final, so it is drawn rarely: histories should spend their time moving
# between active, resolved and cancelled (and across the reopen window).
actions = weighted((3, set_statuses), (4, resolves), (4, reopens), (1, st.builds(Cancel)), (1, merges))
steps = st.builds(Step, advances, actions)
histories = st.lists(steps, max_size=30)

REFUSALS = (TransitionError, RuleError, ValidationError)


def attempt(lc: Lifecycle, action, now: datetime) -> Lifecycle | CasetermError:
    """The new lifecycle, or the CasetermError raised. Any other exception propagates (a failure)."""
    try:
        return action(lc, now)
    except CasetermError as err:
        return err


def walk(history: list[Step]):
    """Apply ``history`` to a fresh lifecycle, yielding (before, action, now, outcome, after)."""
    lc = Lifecycle()
    now = START
    for step in history:
        now = now + step.advance
        outcome = attempt(lc, step.action, now)
        after = outcome if isinstance(outcome, Lifecycle) else lc
        note(f"{lc!r} --{step.action!r} @ +{now - START}--> {outcome!r}")
        yield lc, step.action, now, outcome, after
        lc = after


def expected_outcome(lc: Lifecycle, action, now: datetime) -> Lifecycle | set[type]:
    """The transition table of the module docstring, written out independently.

    Returns the lifecycle the action must produce, or the set of error types any one of
    which is an acceptable refusal (when several rules refuse at once, either may win).
    """
    active = lc.state is CaseState.ACTIVE
    if isinstance(action, SetStatus):
        if active and action.target is lc.status:
            return {RuleError}
        if active and action.target in ACTIVE_WORK:
            return Lifecycle(**{**lc.__dict__, "status": action.target})
        return {TransitionError}
    if isinstance(action, Resolve):
        refusals = set()
        if action.kind not in (StatusReason.PROBLEM_SOLVED, StatusReason.INFORMATION_PROVIDED):
            refusals.add(ValidationError)
        if not active:
            refusals.add(TransitionError)
        if not (action.text or "").strip():
            refusals.add(ValidationError)
        if refusals:
            return refusals
        return Lifecycle(
            state=CaseState.RESOLVED,
            status=action.kind,
            resolution=action.text.strip(),
            resolved_at=now,
            cancelled_at=None,
            merged_into=lc.merged_into,
            reopen_count=lc.reopen_count,
        )
    if isinstance(action, Cancel):
        if not active:
            return {TransitionError}
        return Lifecycle(**{**lc.__dict__, "state": CaseState.CANCELLED, "status": StatusReason.CANCELLED, "cancelled_at": now})
    if isinstance(action, Merge):
        refusals = set()
        if not active:
            refusals.add(TransitionError)
        if not action.master:
            refusals.add(ValidationError)
        if refusals:
            return refusals
        return Lifecycle(
            **{
                **lc.__dict__,
                "state": CaseState.CANCELLED,
                "status": StatusReason.MERGED,
                "merged_into": action.master,
                "cancelled_at": now,
            }
        )
    if isinstance(action, Reopen):
        if active or lc.status is StatusReason.MERGED:
            return {TransitionError}
        if (
            lc.state is CaseState.RESOLVED
            and not action.override
            and now - lc.resolved_at > timedelta(days=action.reopen_days)
        ):
            return {RuleError}
        return Lifecycle(
            state=CaseState.ACTIVE,
            status=StatusReason.IN_PROGRESS,
            resolution=None,
            resolved_at=None,
            cancelled_at=None,
            merged_into=lc.merged_into,
            reopen_count=lc.reopen_count + 1,
        )
    raise AssertionError(f"unknown action {action!r}")


@PROPERTY
@given(histories)
def test_every_reachable_lifecycle_is_valid_and_refusals_change_nothing(history):
    for before, _action, _now, outcome, after in walk(history):
        snapshot = Lifecycle(**before.__dict__)
        if isinstance(outcome, Lifecycle):
            assert outcome is not before
            assert outcome != before, "an accepted action must change the case"
        else:
            assert isinstance(outcome, REFUSALS), f"unexpected error type {type(outcome).__name__}"
            assert str(outcome), "a refusal must say why"
            assert after is before
        # The lifecycle we keep is untouched by the attempt (frozen dataclass, pure functions).
        assert before == snapshot
        assert is_valid(after)
        if after.state is CaseState.RESOLVED:
            assert after.resolution and after.resolution.strip()
            assert after.resolution == after.resolution.strip()
            assert after.resolved_at is not None
        # Not checked by is_valid, but part of the same contract: the cancelled stamp
        # is set exactly while the case is cancelled, and the master only when merged.
        assert (after.cancelled_at is not None) == (after.state is CaseState.CANCELLED)
        assert (after.merged_into is not None) == (after.status is StatusReason.MERGED)
        assert after.reopen_count >= before.reopen_count


@PROPERTY
@given(histories)
def test_each_attempt_follows_the_transition_table(history):
    reopens = 0
    for before, action, now, outcome, after in walk(history):
        expected = expected_outcome(before, action, now)
        if isinstance(expected, Lifecycle):
            assert outcome == expected
        else:
            assert type(outcome) in expected, f"expected one of {expected}, got {outcome!r}"
        if isinstance(action, Reopen) and isinstance(outcome, Lifecycle):
            reopens += 1
        assert after.reopen_count == reopens


@PROPERTY
@given(histories)
def test_transition_errors_name_exactly_the_allowed_actions(history):
    for before, _action, _now, outcome, _after in walk(history):
        if isinstance(outcome, TransitionError):
            assert outcome.allowed == allowed_actions(before)
            text = str(outcome)
            assert before.describe() in text
            assert all(option in text for option in outcome.allowed)
            if not outcome.allowed:
                assert text.endswith("allowed: none")


@PROPERTY
@given(histories)
def test_allowed_actions_are_really_allowed(history):
    """Every status or verb offered by allowed_actions succeeds when tried with good input."""
    for _before, _action, now, _outcome, after in walk(history):
        for option in allowed_actions(after):
            if option == RESOLVE:
                result = resolve(after, "fixed", now)
            elif option == CANCEL:
                result = cancel(after, now)
            elif option == MERGE:
                result = merge_into(after, "CAS-LOC-000001", now)
            elif option == REOPEN:
                result = reopen(after, now, override=True)
            else:
                result = set_status(after, StatusReason.parse(option, "status"))
            assert is_valid(result)


def every_attempt() -> list:
    """One of each kind of action, with input that would be accepted on an active case."""
    return (
        [SetStatus(s) for s in StatusReason]
        + [Resolve("fixed", k) for k in StatusReason]
        + [Cancel(), Merge("CAS-LOC-000009")]
        + [Reopen(override, days) for override in (False, True) for days in (0, DEFAULT_REOPEN_DAYS, 10_000)]
    )


@PROPERTY
@given(
    prefix=histories,
    master=st.sampled_from(["CAS-LOC-000001", "RMA-X1-000002"]),
    suffix=st.lists(steps, max_size=30),
)
def test_merged_is_final(prefix, master, suffix):
    lc = Lifecycle()
    now = START
    for _before, _action, now, _outcome, lc in walk(prefix):
        pass
    if lc.status is not StatusReason.MERGED:
        if lc.state is not CaseState.ACTIVE:
            lc = reopen(lc, now, override=True)
        lc = merge_into(lc, master, now)
    merged = lc
    assert merged.status is StatusReason.MERGED and allowed_actions(merged) == []

    for step in suffix:
        now = now + step.advance
        for action in [step.action, *every_attempt()]:
            outcome = attempt(merged, action, now)
            assert isinstance(outcome, REFUSALS), f"{action!r} was accepted on a merged case: {outcome!r}"
    assert merged.status is StatusReason.MERGED
    assert is_valid(merged)

