"""Who sees and changes what over sync (DESIGN.md section 4, "Auth and scope").

- **supervisor, admin**: everything.
- **agent**: the cases of their queues, plus the cases they own or created; every
  customer (they log cases for anyone who calls).
- **clerk**: the cases they created; every customer.
- **technician**: the cases assigned to them, and only those cases' customers, assets
  and entitlements; published knowledge articles only.

Timeline entries and article links go with their case. Reference data (agents, queues,
categories, products, the operations file's tables) is read by everyone and written by
admins only ("from the server down"). Entitlements are granted by supervisors; articles
are published, expired and archived by reviewers (supervisors, admins).

A :class:`Scope` answers for one caller, with per-request caches, so a pull of
thousands of rows asks the database little.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, exists, literal, or_
from sqlmodel import Session, select

from caseterm.store import models as m

REFERENCE = frozenset({"agents", "queues", "queue_members", "categories", "products", "skills", "business_calendars",
                       "sla_policies", "routing_rules", "entitlement_templates"})
CUSTOMER_DATA = frozenset({"customers", "assets", "sales_orders", "sales_order_lines", "entitlements"})
CASE_DATA = frozenset({"activities", "case_articles"})
REVIEWED_STATES = frozenset({"published", "expired", "archived"})
EVERYTHING = frozenset({"supervisor", "admin"})


@dataclass
class Scope:
    session: Session
    agent_id: uuid.UUID
    role: str
    queue_ids: frozenset[uuid.UUID] = frozenset()
    # how a row is found by id (``session.get`` unless the caller keeps rows of its own:
    # a pushed batch's rows, not yet flushed)
    lookup: Callable[[type, uuid.UUID], Any] | None = None
    _cases: dict[uuid.UUID, bool] = field(default_factory=dict)
    _tech_customers: set[uuid.UUID] | None = None

    @classmethod
    def of(cls, session: Session, agent: m.Agent, lookup: Callable[[type, uuid.UUID], Any] | None = None) -> Scope:
        queues = frozenset(session.exec(select(m.QueueMember.queue_id).where(
            m.QueueMember.agent_id == agent.id, m.QueueMember.deleted == False)).all())  # noqa: E712
        return cls(session, agent.id, agent.role, queues, lookup)

    def _get(self, model, row_id: uuid.UUID):
        return self.lookup(model, row_id) if self.lookup is not None else self.session.get(model, row_id)

    @property
    def sees_everything(self) -> bool:
        return self.role in EVERYTHING

    # --- cases -------------------------------------------------------------------------------

    def case_visible(self, case: m.Case | None) -> bool:
        if case is None:
            return False
        if self.sees_everything:
            return True
        if self.role == "technician":
            return case.owner_id == self.agent_id
        if self.role == "clerk":
            return case.created_by_id == self.agent_id
        return (case.owner_id == self.agent_id or case.created_by_id == self.agent_id
                or (case.queue_id is not None and case.queue_id in self.queue_ids))

    def case_id_visible(self, case_id: uuid.UUID | None) -> bool:
        if case_id is None:
            return False
        if case_id not in self._cases:
            self._cases[case_id] = self.case_visible(self._get(m.Case, case_id))
        return self._cases[case_id]

    def forget(self, case_id: uuid.UUID) -> None:
        self._cases.pop(case_id, None)

    def forget_customers(self) -> None:
        self._tech_customers = None

    def technician_customers(self) -> set[uuid.UUID]:
        if self._tech_customers is None:
            self._tech_customers = set(self.session.exec(select(m.Case.customer_id).where(
                m.Case.owner_id == self.agent_id, m.Case.deleted == False)).all())  # noqa: E712
        return self._tech_customers

    def case_clause(self, case):
        """The cases this caller sees, as SQL over ``case`` (the cases table or an alias of
        it); None when they see every case."""
        if self.sees_everything:
            return None
        if self.role == "technician":
            return case.owner_id == self.agent_id
        if self.role == "clerk":
            return case.created_by_id == self.agent_id
        mine = [case.owner_id == self.agent_id, case.created_by_id == self.agent_id]
        if self.queue_ids:
            mine.append(case.queue_id.in_(sorted(self.queue_ids)))
        return or_(*mine)

    def changes_clause(self, scope_fields: frozenset[str]):
        """The change-log rows that may concern this caller, as SQL (None: all of them): a
        pull reads only these. It leaves out changes to cases the caller does not see, and
        to their timelines, unless the change moved a case (one of ``scope_fields``): the
        caller may have held it, and must be told it is gone. The rest is decided row by
        row (``row_visible``)."""
        clause = self.case_clause(m.Case)
        if clause is None:
            return None
        change = m.ServerChange
        fields = literal(",") + change.fields + literal(",")
        moved = or_(*(fields.like(f"%,{name},%") for name in sorted(scope_fields)))
        return or_(
            change.entity.notin_(("cases", *sorted(CASE_DATA))),
            and_(change.entity == "cases", or_(moved, exists().where(m.Case.id == change.row_id, clause))),
            *(and_(change.entity == model.__tablename__,
                   exists().where(model.id == change.row_id, m.Case.id == model.case_id, clause))
              for model in (m.Activity, m.CaseArticle)),
        )

    # --- any row -----------------------------------------------------------------------------

    def row_visible(self, entity: str, row: Any) -> bool:
        """Whether the caller may read ``row`` of ``entity`` (pull)."""
        if self.sees_everything or entity in REFERENCE:
            return True
        if entity == "cases":
            return self.case_visible(row)
        if entity in CASE_DATA:
            return self.case_id_visible(row.case_id)
        if entity == "kb_articles":
            return self.role != "technician" or row.state == "published"
        if entity in CUSTOMER_DATA:
            if self.role != "technician":
                return True
            return self._customer_of(entity, row) in self.technician_customers()
        return False

    def _customer_of(self, entity: str, row: Any) -> uuid.UUID | None:
        if entity == "customers":
            return row.id
        if entity == "sales_order_lines":
            order = self._get(m.SalesOrder, row.order_id) if hasattr(row, "order_id") else None
            return order.customer_id if order else None
        return getattr(row, "customer_id", None)

    def write_refusal(self, entity: str, before: Any | None, after: dict[str, Any]) -> str | None:
        """Why the caller may not make this change (``before``: the server's row, None for a
        new one; ``after``: the values it would have), or None when it may."""
        if self.sees_everything and entity != "kb_articles":
            return None
        if entity in REFERENCE:
            return f"only admins change {entity.replace('_', ' ')} (they come from the server)"
        if entity == "entitlements" and self.role not in EVERYTHING:
            return "entitlements are granted by supervisors and admins"
        if entity == "cases":
            if before is not None and not self.case_visible(before):
                return "that case is not among yours"
            if before is None and after.get("created_by_id") != self.agent_id:
                return "a new case must be created by the agent who pushes it"
            return None
        if entity in CASE_DATA:
            case_id = after.get("case_id", getattr(before, "case_id", None))
            return None if self.case_id_visible(case_id) else "that case is not among yours"
        if entity == "kb_articles":
            state = after.get("state", getattr(before, "state", "draft"))
            was = getattr(before, "state", "draft")
            if state != was and (state in REVIEWED_STATES or was in REVIEWED_STATES) and self.role not in EVERYTHING:
                return "only reviewers (supervisors, admins) publish, expire or archive articles"
            return None
        if entity in CUSTOMER_DATA:
            if self.role == "technician" and before is not None:
                return None if self._customer_of(entity, before) in self.technician_customers() else \
                    "that customer is not among your cases'"
            return None
        return f"{entity} cannot be changed over sync"


__all__ = ["Scope"]
