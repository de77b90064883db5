"""The one family of errors caseterm raises on purpose (DESIGN.md section 3).

Every message is written for the person in front of the screen: what went wrong and,
where there is one, what to do next. Faces show ``str(error)``; tracebacks go to the log.
"""

from __future__ import annotations

from collections.abc import Iterable


class CasetermError(Exception):
    """Base class: a refusal with a message a person can act on."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message}


class ValidationError(CasetermError):
    """A field's value is not acceptable."""

    code = "validation"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def to_dict(self) -> dict:
        return {**super().to_dict(), "field": self.field, "reason": self.reason}


class TransitionError(CasetermError):
    """A change of state that the state machine does not allow."""

    code = "transition"

    def __init__(self, subject: str, current: str, target: str, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        options = ", ".join(allowed) if allowed else "none"
        super().__init__(f"{subject} cannot go from {current} to {target}; allowed: {options}")
        self.current = current
        self.target = target
        self.allowed = allowed

    def to_dict(self) -> dict:
        return {**super().to_dict(), "current": self.current, "target": self.target, "allowed": self.allowed}


class RuleError(CasetermError):
    """A business rule refuses the action (for example: a parent with active children)."""

    code = "rule"


class PermissionDenied(CasetermError):
    code = "permission"


class NotFound(CasetermError):
    code = "not_found"


class Conflict(CasetermError):
    code = "conflict"


class StoreError(CasetermError):
    """The local store cannot be opened or migrated."""

    code = "store"
