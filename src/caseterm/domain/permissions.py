"""Which roles may take which actions. Scope (which cases) is the sync layer's business."""

from __future__ import annotations

from caseterm.domain.enums import Role
from caseterm.errors import PermissionDenied

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})

# action -> roles allowed; an action not listed is open to every role.
_RULES: dict[str, frozenset[Role]] = {
    "merge_cases": frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN}),
    "force_resolve_parent": SUPERVISORS,
    "override_reopen_window": SUPERVISORS,
    "assign_to_other_agent": frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN}),
    "grant_entitlement": SUPERVISORS,
    "bulk_assign": SUPERVISORS,
}

_WHY = {
    "merge_cases": "merging cases",
    "force_resolve_parent": "resolving a parent case while its children are active",
    "override_reopen_window": "reopening a case after the reopen window",
    "assign_to_other_agent": "assigning a case to another agent",
    "grant_entitlement": "granting an entitlement",
    "bulk_assign": "reassigning cases in bulk",
}


def allowed(role: str, action: str) -> bool:
    roles = _RULES.get(action)
    return roles is None or Role.parse(role, "role") in roles


def require(role: str, action: str) -> None:
    if not allowed(role, action):
        who = ", ".join(sorted(r.value for r in _RULES[action]))
        raise PermissionDenied(f"{_WHY.get(action, action)} needs the role {who}; you are {role}")
