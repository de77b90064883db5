"""The case state machine: state (active, resolved, cancelled) x status reason.

Pure functions over an immutable ``Lifecycle``; services map a Case row to it and back.
Every refusal names what *is* allowed, so a person knows the next step.

    active   --set_status-->  active   (any active status but ``new``, never the same one)
    active   --resolve------> resolved (needs a resolution text)
    active   --cancel-------> cancelled/cancelled
    active   --merge--------> cancelled/merged (points at the master case)
    resolved --reopen-------> active/in_progress (within the reopen window, or overridden)
    cancelled/cancelled --reopen--> active/in_progress
    cancelled/merged: final
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from caseterm.domain.enums import ACTIVE_STATUSES, RESOLVED_STATUSES, CaseState, StatusReason
from caseterm.errors import RuleError, TransitionError, ValidationError

RESOLVE = "resolve"
CANCEL = "cancel"
MERGE = "merge"
REOPEN = "reopen"
DEFAULT_REOPEN_DAYS = 30


@dataclass(frozen=True)
class Lifecycle:
    state: CaseState = CaseState.ACTIVE
    status: StatusReason = StatusReason.NEW
    resolution: str | None = None
    resolved_at: datetime | None = None
    cancelled_at: datetime | None = None
    merged_into: str | None = None
    reopen_count: int = 0

    def describe(self) -> str:
        return f"{self.state.label} ({self.status.label.lower()})"


def _status_label(status: StatusReason) -> str:
    return status.label.lower()


def settable_statuses(lc: Lifecycle) -> list[StatusReason]:
    """Active statuses a person may set directly from ``lc``."""
    if lc.state is not CaseState.ACTIVE:
        return []
    return [s for s in ACTIVE_STATUSES if s is not StatusReason.NEW and s is not lc.status]


def allowed_actions(lc: Lifecycle) -> list[str]:
    """Everything a person may do next, in words: status names and verbs."""
    if lc.state is CaseState.ACTIVE:
        return [_status_label(s) for s in settable_statuses(lc)] + [RESOLVE, CANCEL, MERGE]
    if lc.state is CaseState.RESOLVED or lc.status is StatusReason.CANCELLED:
        return [REOPEN]
    return []


def _refuse(lc: Lifecycle, target: str, subject: str) -> TransitionError:
    return TransitionError(subject, lc.describe(), target, allowed_actions(lc))


def set_status(lc: Lifecycle, target: StatusReason, subject: str = "The case") -> Lifecycle:
    """Move between active statuses; resolving, cancelling and merging have their own verbs."""
    if lc.state is CaseState.ACTIVE and target is lc.status:
        raise RuleError(f"{subject} is already {_status_label(target)}")
    if target not in settable_statuses(lc):
        raise _refuse(lc, _status_label(target), subject)
    return replace(lc, status=target)


def resolve(
    lc: Lifecycle,
    resolution: str | None,
    now: datetime,
    kind: StatusReason = StatusReason.PROBLEM_SOLVED,
    subject: str = "The case",
) -> Lifecycle:
    if kind not in RESOLVED_STATUSES:
        raise ValidationError("resolution kind", f"use {' or '.join(_status_label(s) for s in RESOLVED_STATUSES)}")
    if lc.state is not CaseState.ACTIVE:
        raise _refuse(lc, "resolved", subject)
    text = (resolution or "").strip()
    if not text:
        raise ValidationError("resolution", "a resolved case needs a resolution: say what solved it")
    return replace(lc, state=CaseState.RESOLVED, status=kind, resolution=text, resolved_at=now, cancelled_at=None)


def cancel(lc: Lifecycle, now: datetime, subject: str = "The case") -> Lifecycle:
    if lc.state is not CaseState.ACTIVE:
        raise _refuse(lc, "cancelled", subject)
    return replace(lc, state=CaseState.CANCELLED, status=StatusReason.CANCELLED, cancelled_at=now)


def merge_into(lc: Lifecycle, master: str, now: datetime, subject: str = "The case") -> Lifecycle:
    if lc.state is not CaseState.ACTIVE:
        raise _refuse(lc, "merged", subject)
    if not (master or "").strip():
        raise ValidationError("master case", "name the case to merge into")
    return replace(lc, state=CaseState.CANCELLED, status=StatusReason.MERGED, merged_into=master, cancelled_at=now)


def reopen(
    lc: Lifecycle,
    now: datetime,
    reopen_days: int = DEFAULT_REOPEN_DAYS,
    override: bool = False,
    subject: str = "The case",
) -> Lifecycle:
    """Back to active/in progress. Resolved cases only within ``reopen_days`` unless overridden."""
    if REOPEN not in allowed_actions(lc):
        raise _refuse(lc, "active (reopened)", subject)
    if lc.state is CaseState.RESOLVED and not override and lc.resolved_at is not None:
        if now - lc.resolved_at > timedelta(days=reopen_days):
            raise RuleError(
                f"{subject} was resolved on {lc.resolved_at:%Y-%m-%d}, more than {reopen_days} days ago; "
                f"cases can be reopened within {reopen_days} days. "
                "Create a new case and set this one as its parent, or ask a supervisor to reopen it."
            )
    return replace(
        lc,
        state=CaseState.ACTIVE,
        status=StatusReason.IN_PROGRESS,
        resolution=None,
        resolved_at=None,
        cancelled_at=None,
        reopen_count=lc.reopen_count + 1,
    )


def check_parent_resolvable(active_children: list[str], force: bool, subject: str = "The case") -> None:
    """A parent cannot be resolved while a child is active, unless forced."""
    if active_children and not force:
        names = ", ".join(active_children[:5]) + (" …" if len(active_children) > 5 else "")
        raise RuleError(
            f"{subject} has {len(active_children)} active child case(s) ({names}); "
            "resolve or cancel them first, or force the resolution"
        )


def check_no_cycle(child: str, ancestors_of_parent: list[str]) -> None:
    """Linking ``child`` under a parent whose ancestor chain (parent first) contains it makes a loop."""
    if child in ancestors_of_parent:
        raise RuleError("That would make the case its own ancestor; choose another parent")


def is_valid(lc: Lifecycle) -> bool:
    """The invariants every reachable lifecycle holds (checked by the property tests)."""
    if lc.status.state is not lc.state:
        return False
    if lc.state is CaseState.RESOLVED:
        return bool(lc.resolution and lc.resolution.strip()) and lc.resolved_at is not None
    if lc.resolved_at is not None or lc.resolution:
        return False
    if lc.status is StatusReason.MERGED:
        return lc.merged_into is not None
    return True
