"""The vocabularies of the case process. Values are what the store and the wire carry."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Labelled(StrEnum):
    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def parse(cls, value: str, field: str):
        """The member for ``value`` (case-insensitive, ``-`` or space for ``_``) or a ValidationError."""
        from caseterm.errors import ValidationError

        key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(key)
        except ValueError:
            raise ValidationError(field, f"'{value}' is not one of {', '.join(m.value for m in cls)}") from None


class CustomerKind(Labelled):
    PERSON = "person"
    ORGANISATION = "organisation"


class Tier(Labelled):
    STANDARD = "standard"
    GOLD = "gold"
    PLATINUM = "platinum"


class Role(Labelled):
    AGENT = "agent"
    CLERK = "clerk"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Presence(Labelled):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


class Origin(Labelled):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    STORE = "store"
    FIELD = "field"
    IOT = "iot"


class CaseType(Labelled):
    QUESTION = "question"
    PROBLEM = "problem"
    REQUEST = "request"
    COMPLAINT = "complaint"


class Priority(IntEnum):
    CRITICAL = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @classmethod
    def parse(cls, value: int | str, field: str = "priority") -> Priority:
        from caseterm.errors import ValidationError

        text = str(value).strip().lower()
        for member in cls:
            if text in (str(member.value), member.name.lower()):
                return member
        raise ValidationError(field, f"'{value}' is not a priority; use 1 (critical), 2 (high), 3 (normal) or 4 (low)")


class CaseState(Labelled):
    ACTIVE = "active"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class StatusReason(Labelled):
    # active
    NEW = "new"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    RESEARCHING = "researching"
    # resolved
    PROBLEM_SOLVED = "problem_solved"
    INFORMATION_PROVIDED = "information_provided"
    # cancelled
    CANCELLED = "cancelled"
    MERGED = "merged"

    @property
    def state(self) -> CaseState:
        return STATE_OF_STATUS[self]


STATE_OF_STATUS: dict[StatusReason, CaseState] = {
    StatusReason.NEW: CaseState.ACTIVE,
    StatusReason.IN_PROGRESS: CaseState.ACTIVE,
    StatusReason.ON_HOLD: CaseState.ACTIVE,
    StatusReason.WAITING_FOR_CUSTOMER: CaseState.ACTIVE,
    StatusReason.RESEARCHING: CaseState.ACTIVE,
    StatusReason.PROBLEM_SOLVED: CaseState.RESOLVED,
    StatusReason.INFORMATION_PROVIDED: CaseState.RESOLVED,
    StatusReason.CANCELLED: CaseState.CANCELLED,
    StatusReason.MERGED: CaseState.CANCELLED,
}

ACTIVE_STATUSES = tuple(s for s, st in STATE_OF_STATUS.items() if st is CaseState.ACTIVE)
RESOLVED_STATUSES = tuple(s for s, st in STATE_OF_STATUS.items() if st is CaseState.RESOLVED)


class ActivityKind(Labelled):
    NOTE = "note"
    PHONE_CALL = "phone_call"
    EMAIL_IN = "email_in"
    EMAIL_OUT = "email_out"
    CHAT = "chat"
    TASK = "task"
    VISIT = "visit"
    SYSTEM = "system"


class Direction(Labelled):
    NONE = "none"
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Visibility(Labelled):
    INTERNAL = "internal"
    CUSTOMER = "customer"


class OpKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    APPEND = "append"
    DELETE = "delete"


class OpState(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    CONFLICT = "conflict"
    REJECTED = "rejected"
