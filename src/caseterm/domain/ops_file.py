"""The operations file: how a service organisation works, as TOML kept under version control.

``parse(text)`` reads and checks the whole file and returns an :class:`OpsDefinition`, or
raises :class:`OpsFileError` listing the problems of every table, each with its place (the
table path, e.g. ``queue[2].members``, and the line of that table) and what is expected —
so one run of ``caseterm ops apply --dry-run`` shows nearly all there is to fix (an SLA
policy or a routing rule reports its first problem only; queues, calendars and
entitlements report all of theirs). Nothing here touches a
store; applying the definition is the services' work.

The shape (``data/ops/demo.toml`` is a full example)::

    categories = ["Kitchen", "Billing"]
    skills = ["returns", "billing"]

    [[calendar]]
    name = "office"
    time_zone = "Europe/Stockholm"
    hours = { mon-fri = ["08:00-12:00", "13:00-17:00"] }
    holidays = ["2026-12-24"]

    [[queue]]
    name = "Returns"
    email = "returns@example.com"          # mail to this address lands here
    strategy = "skills"                    # round_robin | least_active | skills
    needs = { returns = 2 }                # skills a case in this queue needs
    members = ["jdoe", "ebergstrom"]
    escalate_to = "Escalations"            # where its cases go when escalated (optional)

    [[sla]]                                 # the first matching policy applies
    name = "standard"
    calendar = "office"
    when = { }                              # as routing conditions; empty: every case
    warn_at = 0.75
    pause = ["waiting_for_customer", "on_hold"]
    escalate_on_breach = true               # a breach escalates the case (default false)
    targets = { 1 = { first_response = "1h", resolve = "8h" }, 2 = …, 3 = …, 4 = … }

    [[routing]]                             # the first matching rule routes
    name = "return keywords"
    when = { keywords = ["return", "refund"], not_type = "question" }
    queue = "Returns"
    priority = 3                            # optional

    [[entitlement]]                         # templates offered when selling support
    name = "Gold"
    sla = "gold"
    cases = 20                              # or hours = 40; omit both for unlimited
    channels = ["phone", "email"]
    days = 365
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from caseterm.domain import business_hours as bh
from caseterm.domain.enums import Origin, StatusReason
from caseterm.domain.routing import STRATEGIES, Rule, parse_rule
from caseterm.domain.sla import SlaPolicy, parse_policy
from caseterm.errors import CasetermError, ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOP_LEVEL = {"categories", "skills", "calendar", "queue", "sla", "routing", "entitlement"}


@dataclass(frozen=True)
class QueueDef:
    name: str
    description: str
    email: str | None
    strategy: str
    needs: tuple[tuple[str, int], ...]
    members: tuple[str, ...]
    escalate_to: str | None = None  # a queue's name


@dataclass(frozen=True)
class EntitlementDef:
    name: str
    sla: str | None
    cases: int | None
    hours: int | None
    channels: tuple[str, ...]
    days: int


@dataclass
class OpsDefinition:
    categories: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    calendars: dict[str, bh.Calendar] = field(default_factory=dict)
    queues: list[QueueDef] = field(default_factory=list)
    policies: list[SlaPolicy] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    entitlements: list[EntitlementDef] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    place: str  # e.g. "queue[2].members"
    line: int | None  # of the table it is in, when known
    reason: str

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line else ""
        return f"{at}{self.place}: {self.reason}"


class OpsFileError(CasetermError):
    """Every problem of an operations file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the operations file; nothing was applied:\n"
                         + "\n".join(f"  {p}" for p in problems))


def parse(text: str, *, agents: Iterable[str] | None = None) -> OpsDefinition:
    """The checked definition in ``text``; ``agents``: the logins queue members must be
    among (None: not checked here)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise OpsFileError([Problem("file", int(line[1]) if line else None, f"not valid TOML ({exc})")]) from None
    lines = _table_lines(text)
    problems: list[Problem] = []
    out = OpsDefinition()

    def problem(place: str, reason: str) -> None:
        problems.append(Problem(place, _line_of(place, lines), reason))

    def checked(work):
        """``work()``, or None with its refusal recorded."""
        try:
            return work()
        except ValidationError as exc:
            problem(exc.field, exc.reason)
            return None

    for key in sorted(set(raw) - TOP_LEVEL):
        problem(key, f"unknown section; expected {', '.join(sorted(TOP_LEVEL))}")

    out.categories = _names(raw.get("categories", []), "categories", problem)
    out.skills = _names(raw.get("skills", []), "skills", problem)

    for i, cal in enumerate(_tables(raw, "calendar", problem)):
        where = f"calendar[{i}]"
        name = _name(cal, where, problem)
        extra = set(cal) - {"name", "time_zone", "hours", "holidays"}
        for key in sorted(extra):
            problem(f"{where}.{key}", "unknown key; expected name, time_zone, hours, holidays")
        hours = cal.get("hours")
        if not isinstance(hours, Mapping):
            problem(f"{where}.hours", 'a table such as { mon-fri = ["09:00-17:00"] }')
            continue
        calendar = checked(lambda: _calendar(cal, where))
        if name and calendar:
            if name.lower() in (n.lower() for n in out.calendars):
                problem(f"{where}.name", f"a second calendar called '{name}'")
            out.calendars[name] = calendar

    seen_queues: set[str] = set()
    queue_places: list[str] = []  # each defined queue's place in the file
    seen_emails: set[str] = set()
    known_agents = {a.lower() for a in agents} if agents is not None else None
    for i, q in enumerate(_tables(raw, "queue", problem)):
        where = f"queue[{i}]"
        name = _name(q, where, problem)
        for key in sorted(set(q) - {"name", "description", "email", "strategy", "needs", "members", "escalate_to"}):
            problem(f"{where}.{key}",
                    "unknown key; expected name, description, email, strategy, needs, members, escalate_to")
        if name and name.lower() in seen_queues:
            problem(f"{where}.name", f"a second queue called '{name}'")
        email = q.get("email")
        if email is not None:
            if not isinstance(email, str) or not _EMAIL.match(email.strip()):
                problem(f"{where}.email", "an email address such as returns@example.com")
                email = None
            elif email.strip().lower() in seen_emails:
                problem(f"{where}.email", f"{email} already feeds another queue")
            else:
                seen_emails.add(email.strip().lower())
        strategy = q.get("strategy", "least_active")
        if strategy not in STRATEGIES:
            problem(f"{where}.strategy", f"one of {', '.join(STRATEGIES)}")
        needs = q.get("needs", {})
        if not isinstance(needs, Mapping) or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5
                                                  for v in needs.values()):
            problem(f"{where}.needs", "a table of skill = level (1-5), e.g. { returns = 2 }")
            needs = {}
        for skill in needs:
            if out.skills and skill not in out.skills:
                problem(f"{where}.needs.{skill}", f"not among the skills: {', '.join(out.skills)}")
        members = q.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            problem(f"{where}.members", 'a list of agent logins, e.g. ["jdoe", "akowalski"]')
            members = []
        if known_agents is not None:
            for j, login in enumerate(members):
                if login.lower() not in known_agents:
                    problem(f"{where}.members[{j}]", f"no agent '{login}'")
        escalate_to = q.get("escalate_to")
        if escalate_to is not None and (not isinstance(escalate_to, str) or not escalate_to.strip()):
            problem(f"{where}.escalate_to", "the name of the queue its cases escalate to")
            escalate_to = None
        if name:
            seen_queues.add(name.lower())
            out.queues.append(QueueDef(name, str(q.get("description", "")), email.strip() if email else None,
                                       str(strategy), tuple(sorted(needs.items())), tuple(members),
                                       escalate_to.strip() if escalate_to else None))
            queue_places.append(where)
    names = {q.name.lower(): q.name for q in out.queues}
    for where, qdef in zip(queue_places, out.queues):
        if qdef.escalate_to is None:
            continue
        if qdef.escalate_to.lower() not in names:
            problem(f"{where}.escalate_to", f"no queue '{qdef.escalate_to}' in the file; name one of "
                                               f"{', '.join(sorted(names.values()))}")
        elif qdef.escalate_to.lower() == qdef.name.lower():
            problem(f"{where}.escalate_to", "a queue cannot escalate to itself")

    statuses = [s.value for s in StatusReason]
    for i, p in enumerate(_tables(raw, "sla", problem)):
        policy = checked(lambda: parse_policy(p, f"sla[{i}]", out.calendars, statuses))
        if policy:
            out.policies.append(policy)
    queue_names = [q.name for q in out.queues]
    for i, r in enumerate(_tables(raw, "routing", problem)):
        rule = checked(lambda: parse_rule(r, f"routing[{i}]", queue_names))
        if rule:
            out.rules.append(rule)
    _check_values(out, problem)

    policy_names = {p.name.lower() for p in out.policies}
    channels = {o.value for o in Origin}
    for i, e in enumerate(_tables(raw, "entitlement", problem)):
        where = f"entitlement[{i}]"
        name = _name(e, where, problem)
        for key in sorted(set(e) - {"name", "sla", "cases", "hours", "channels", "days"}):
            problem(f"{where}.{key}", "unknown key; expected name, sla, cases, hours, channels, days")
        sla = e.get("sla")
        if sla is not None and str(sla).lower() not in policy_names:
            problem(f"{where}.sla", f"no SLA policy '{sla}'")
        counts = {}
        for key in ("cases", "hours"):
            value = e.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                problem(f"{where}.{key}", "a whole number above zero (or leave it out for unlimited)")
                value = None
            counts[key] = value
        if counts["cases"] and counts["hours"]:
            problem(where, "give cases or hours, not both")
        chosen = e.get("channels", sorted(channels))
        if not isinstance(chosen, list) or any(c not in channels for c in chosen):
            problem(f"{where}.channels", f"a list among {', '.join(sorted(channels))}")
            chosen = []
        days = e.get("days", 365)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
            problem(f"{where}.days", "how many days it is valid, 1 to 3660")
            days = 365
        if name:
            out.entitlements.append(EntitlementDef(name, str(sla) if sla else None, counts["cases"], counts["hours"],
                                                   tuple(chosen), days))
    if problems:
        raise OpsFileError(problems)
    return out


def _check_values(out: OpsDefinition, problem) -> None:
    """Routing and SLA conditions on categories must name categories the file defines."""
    categories = {c.lower() for c in out.categories}
    for kind, items in (("routing", out.rules), ("sla", out.policies)):
        for i, item in enumerate(items):
            for cond in item.conditions:
                if cond.field == "category" and categories:
                    for value in sorted(cond.values - categories):
                        problem(f"{kind}[{i}].when.category", f"no category '{value}'")


def _calendar(cal: Mapping, where: str) -> bh.Calendar:
    try:
        return bh.Calendar.from_spec(str(cal.get("time_zone", "")), cal["hours"], cal.get("holidays", []))
    except ValidationError as exc:
        raise ValidationError(f"{where}.{exc.field}", exc.reason) from None


def _tables(raw: Mapping, key: str, problem) -> list[Mapping]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        problem(key, f"write each one as a [[{key}]] table")
        return []
    return value


def _name(table: Mapping, where: str, problem) -> str | None:
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        problem(f"{where}.name", "every entry needs a name")
        return None
    return name.strip()


def _names(value, where: str, problem) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problem(where, 'a list of names, e.g. ["Kitchen", "Billing"]')
        return []
    out: list[str] = []
    for v in value:
        if v.strip().lower() in (o.lower() for o in out):
            problem(where, f"'{v}' appears twice")
        else:
            out.append(v.strip())
    return out


def _table_lines(text: str) -> dict[str, list[int]]:
    """The line of each ``[[name]]`` header, by name, in order."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*\[\[\s*([A-Za-z_]+)\s*\]\]", line)
        if m:
            lines.setdefault(m[1], []).append(number)
    return lines


def _line_of(place: str, lines: dict[str, list[int]]) -> int | None:
    m = re.match(r"^(\w+)\[(\d+)\]", place)
    if m and int(m[2]) < len(lines.get(m[1], [])):
        return lines[m[1]][int(m[2])]
    return None


__all__ = ["EntitlementDef", "OpsDefinition", "OpsFileError", "Problem", "QueueDef", "parse"]
