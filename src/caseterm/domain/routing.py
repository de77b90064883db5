"""Routing rules and assignment strategies, as pure functions (service operations).

A routing rule is an ordered list of conditions on a case's facts → a queue and an
optional priority. The first rule whose conditions all hold wins; :func:`route` returns it
with the words the timeline records ("routed to Returns by rule 'return keywords'").

Within the queue an assignment strategy picks an agent (:func:`pick_agent`):

* ``round_robin`` — the member after the one assigned last, among those with free capacity;
* ``least_active`` — the member with the fewest active cases (ties: the least recently
  assigned, then the login), among those with free capacity;
* ``skills`` — only members holding every skill the case needs at the level needed, then
  as ``least_active``.

No one qualifying leaves the case unassigned in the queue, with the reason.

Rules come from the operations file as plain mappings (:func:`parse_rule`); every error
names its place (``routing[2].when.origin``) and what is expected.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from caseterm.errors import ValidationError

# the facts a condition may test, and whether the fact is one value or free text
FIELDS = {
    "origin": "value", "type": "value", "category": "value", "product": "value", "customer_tier": "value",
    "priority": "value", "keywords": "text",
}
STRATEGIES = ("round_robin", "least_active", "skills")


@dataclass(frozen=True)
class CaseFacts:
    """What routing looks at, as plain text (product by SKU, category by name)."""

    origin: str = ""
    type: str = ""
    category: str = ""
    product: str = ""
    customer_tier: str = ""
    priority: int = 3
    title: str = ""
    description: str = ""

    @functools.cached_property
    def values(self) -> dict[str, str]:
        """Each value fact as conditions compare it (text, trimmed, lower case)."""
        return {name: str(getattr(self, name)).strip().lower() for name, kind in FIELDS.items() if kind == "value"}

    @functools.cached_property
    def text(self) -> str:
        """Title and description, for keyword conditions."""
        return f"{self.title} {self.description}"

    @functools.cached_property
    def words(self) -> frozenset[str]:
        return frozenset(_words(self.text))


@dataclass(frozen=True)
class Condition:
    field: str
    values: frozenset[str]  # lower case; a case matches any of them
    negate: bool = False

    def holds(self, facts: CaseFacts) -> bool:
        if FIELDS[self.field] == "text":
            words, phrases = self._keywords
            found = not words.isdisjoint(facts.words) or any(p.search(facts.text) for p in phrases)
        else:
            found = facts.values[self.field] in self.values
        return found != self.negate

    @functools.cached_property
    def _keywords(self) -> tuple[frozenset[str], tuple[re.Pattern, ...]]:
        """The single words (looked up in the case's words) and the phrases (compiled once)."""
        words, phrases = set(), []
        for value in self.values:
            parts = _words(value)
            if len(parts) == 1:
                words.add(parts[0])
            elif parts:
                phrases.append(re.compile(r"\b" + r"\W+".join(map(re.escape, parts)) + r"\b", re.IGNORECASE))
        return frozenset(words), tuple(phrases)


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    queue: str
    priority: int | None = None

    def matches(self, facts: CaseFacts) -> bool:
        return all(c.holds(facts) for c in self.conditions)


@dataclass(frozen=True)
class Routed:
    rule: Rule | None
    queue: str | None
    priority: int | None
    reason: str


def route(rules: Sequence[Rule], facts: CaseFacts) -> Routed:
    """The first rule that matches ``facts`` (rules in their file order)."""
    for rule in rules:
        if rule.matches(facts):
            extra = f", priority {rule.priority}" if rule.priority is not None else ""
            return Routed(rule, rule.queue, rule.priority, f"routed to {rule.queue} by rule '{rule.name}'{extra}")
    return Routed(None, None, None, "no routing rule matched")


# --- assignment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A queue member as the strategies see them."""

    login: str
    active: int  # active cases owned now
    capacity: int
    skills: Mapping[str, int] = field(default_factory=dict)
    last_assigned: datetime | None = None
    available: bool = True

    @property
    def free(self) -> bool:
        return self.available and self.active < self.capacity


@dataclass(frozen=True)
class Pick:
    login: str | None
    reason: str


def pick_agent(strategy: str, members: Sequence[Member], *, needs: Mapping[str, int] | None = None,
               last_login: str | None = None) -> Pick:
    """The member ``strategy`` picks, or None with the reason. ``needs``: skill → minimum
    level (``skills``); ``last_login``: who the queue assigned last (``round_robin``)."""
    if strategy not in STRATEGIES:
        raise ValidationError("strategy", f"'{strategy}' is not one of {', '.join(STRATEGIES)}")
    ordered = sorted(members, key=lambda m: m.login)
    if not ordered:
        return Pick(None, "the queue has no members; left unassigned in the queue")
    free = [m for m in ordered if m.free]
    if not free:
        return Pick(None, "every member is at capacity or away; left unassigned in the queue")
    needs = dict(needs or {})
    if strategy == "skills" and needs:
        free = [m for m in free if all(m.skills.get(s, 0) >= level for s, level in needs.items())]
        if not free:
            wanted = ", ".join(f"{s}≥{level}" for s, level in sorted(needs.items()))
            return Pick(None, f"no member with free capacity has {wanted}; left unassigned in the queue")
    if strategy == "round_robin":
        logins = [m.login for m in ordered]
        start = logins.index(last_login) + 1 if last_login in logins else 0
        turn = ordered[start:] + ordered[:start]
        chosen = next(m for m in turn if m in free)
        return Pick(chosen.login, f"assigned to {chosen.login}: next in turn, load {chosen.active}/{chosen.capacity}")
    chosen = min(free, key=lambda m: (m.active, m.last_assigned is not None, m.last_assigned or datetime.min, m.login))
    skills = ""
    if strategy == "skills" and needs:
        skills = "skills " + ", ".join(f"{s}≥{needs[s]}" for s in sorted(needs)) + ", "
    return Pick(chosen.login, f"assigned to {chosen.login}: {skills}load {chosen.active}/{chosen.capacity}")


# --- reading rules from the operations file ------------------------------------------------------


def parse_rule(raw: Mapping, where: str, queues: Iterable[str] | None = None) -> Rule:
    """One ``[[routing]]`` table: ``name``, ``queue``, optional ``priority`` (1–4) and
    ``when`` (field → value or list of values; ``not_<field>`` negates; ``keywords`` match
    whole words or phrases of the title and description)."""
    if not isinstance(raw, Mapping):
        raise ValidationError(where, "must be a table with name, when and queue")
    unknown = set(raw) - {"name", "when", "queue", "priority"}
    if unknown:
        raise ValidationError(f"{where}.{sorted(unknown)[0]}", "unknown key; expected name, when, queue, priority")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{where}.name", "every rule needs a name (the timeline quotes it)")
    queue = raw.get("queue")
    if not isinstance(queue, str) or not queue.strip():
        raise ValidationError(f"{where}.queue", "name the queue the rule routes to")
    known = {q.lower(): q for q in queues} if queues is not None else None
    if known is not None and queue.strip().lower() not in known:
        raise ValidationError(f"{where}.queue", f"no queue '{queue}'; queues: {', '.join(sorted(known.values()))}")
    priority = raw.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 4):
        raise ValidationError(f"{where}.priority", "must be 1 (critical) to 4 (low)")
    when = raw.get("when", {})
    if not isinstance(when, Mapping):
        raise ValidationError(f"{where}.when", "must be a table of field = value(s)")
    conditions = []
    for key, value in when.items():
        negate = key.startswith("not_")
        fact = key[4:] if negate else key
        if fact not in FIELDS:
            raise ValidationError(f"{where}.when.{key}", f"unknown field; expected {', '.join(FIELDS)} (or not_…)")
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(v, (dict, list)) or str(v).strip() == "" for v in values):
            raise ValidationError(f"{where}.when.{key}", "give a value or a list of values")
        conditions.append(Condition(fact, frozenset(str(v).strip().lower() for v in values), negate))
    conditions.sort(key=lambda c: FIELDS[c.field] == "text")  # cheap equality tests first: all() stops early
    name_of_queue = known[queue.strip().lower()] if known is not None else queue.strip()
    return Rule(name.strip(), tuple(conditions), name_of_queue, priority)


_WORD = re.compile(r"[\w'-]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


__all__ = ["CaseFacts", "Condition", "Member", "Pick", "Routed", "Rule", "STRATEGIES", "parse_rule", "pick_agent",
           "route"]
