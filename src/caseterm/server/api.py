"""The REST API for integrations, beside sync: cases and customers under ``/api/v1/``.

Same services, same scopes as the clients and sync:

- **Reads** are filtered by the caller's :class:`~caseterm.sync.scope.Scope` in SQL
  (lists) and row by row (one case, one customer). A case or customer outside the scope
  is answered exactly like one that does not exist (404, echoing only what the caller
  sent), so nothing about it leaks.
- **Writes** find their case or customer the same way (404 outside the scope), ask the
  scope (``write_refusal``), then call the service in one ``db.uow()`` with the caller
  as the actor: the services check the rules and roles (``PermissionDenied`` → 403 with
  the reason), write the rows, the timeline and the server's change log, so clients pull
  the change on their next sync.
- **Errors** are ``application/problem+json`` (``server.app``): a service's
  ``ValidationError`` is 422 and names the field; a reference in a body that names
  nothing (an unknown category, queue, customer …) is a 422 naming that field; a
  state-machine or business-rule refusal (resolving a resolved case) is 409.

Lists page by keyset: the answer's ``next`` is an opaque cursor; pass it back as
``cursor`` for the following page (``null`` when there is none). The queries are
SQLAlchemy, not the local store's SQLite-only SQL, so they run on PostgreSQL too.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt
from starlette.exceptions import HTTPException
from sqlalchemy import and_, false, func, or_, true
from sqlmodel import select

from caseterm.domain.enums import StatusReason
from caseterm.domain.numbers import normalise_number
from caseterm.domain.text import looks_like_email, phone_digits
from caseterm.errors import Conflict, NotFound, PermissionDenied, RuleError, TransitionError, ValidationError
from caseterm.server.auth import SignedIn
from caseterm.store import models as m
from caseterm.sync.scope import Scope

MAX_PAGE = 200
SERVER_TIME_FLOOR = datetime(1970, 1, 1, tzinfo=timezone.utc)

# --- input text ------------------------------------------------------------------------------


def _clean_text(value: str | None) -> str | None:
    """Text the store can keep on every database: no NUL (PostgreSQL refuses it in text)
    and valid Unicode (a lone surrogate cannot be written as UTF-8)."""
    if value is None:
        return None
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _line(max_length: int, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_clean_text)]


def _past_instant(value: datetime) -> datetime:
    try:
        value = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None
    if value < SERVER_TIME_FLOOR:
        raise ValueError("must be after 1970-01-01")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_past_instant)]
QueryText = Annotated[str | None, AfterValidator(_clean_text)]

Origin = Literal["phone", "email", "web", "chat", "store", "field", "iot"]
CaseType = Literal["question", "problem", "request", "complaint"]
State = Literal["active", "resolved", "cancelled"]
Status = Literal["new", "in_progress", "on_hold", "waiting_for_customer", "researching", "problem_solved",
                 "information_provided", "cancelled", "merged"]
SettableStatus = Literal["in_progress", "on_hold", "waiting_for_customer", "researching"]
ResolutionKind = Literal["problem_solved", "information_provided"]
LoggableKind = Literal["note", "phone_call", "email_in", "email_out", "chat", "task", "visit"]
Direction = Literal["inbound", "outbound", "none"]
Visibility = Literal["internal", "customer"]
CustomerKind = Literal["person", "organisation"]
Tier = Literal["standard", "gold", "platinum"]
Priority = Annotated[StrictInt, Field(ge=1, le=4, description="1 critical, 2 high, 3 normal, 4 low")]
CaseNumber = Annotated[str, Path(min_length=1, max_length=40, description="The case number, e.g. CAS-SRV-000001",
                                 examples=["CAS-SRV-000001"]), AfterValidator(_clean_text)]


class In(BaseModel):
    """A request body: unknown fields are refused (a typo is not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


# --- problems (documented for every operation) -------------------------------------------------


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str


_PROBLEM_CONTENT = {"application/problem+json": {"schema": Problem.model_json_schema()}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": words, "content": _PROBLEM_CONTENT}
    for status, words in (
        (400, "The request cannot be carried out"),
        (401, "No token, or an unknown or revoked one"),
        (403, "The caller's role may not do this (the detail says why)"),
        (404, "No such case or customer among the caller's"),
        (409, "The case's state or a business rule refuses the action (the detail names what is allowed)"),
        (413, "The body is too large"),
        (422, "A field is missing or not acceptable (the detail names it)"),
    )
}


def _query_names(dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class _Route(APIRoute):
    """FastAPI answers a body it cannot even decode (not UTF-8) with a bare 400 JSON
    error; here that is a 422 problem like any other malformed body. A body sent without
    a length (chunked) is held to the app's size limit too. The route's query parameters
    are noted for :func:`_known_query_only`."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        known = frozenset(_query_names(self.dependant))

        async def answer(request: Request) -> Response:
            request.state.known_query = known
            if "content-length" not in request.headers and request.method in ("POST", "PATCH", "PUT"):
                # a chunked body has no length for the app's size check to look at: count it here
                from caseterm.server.app import MAX_BODY, problem

                body = bytearray()
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > MAX_BODY:
                        return problem(413, "Request too large", f"send at most {MAX_BODY:,} bytes")
                request._body = bytes(body)  # what FastAPI then reads (Starlette keeps a read body there)
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 400:
                    raise ValidationError("body", "is not JSON (UTF-8 text)") from exc
                raise

        return answer


def _known_query_only(request: Request, agent: SignedIn) -> None:
    """A query parameter the operation does not have is refused (after sign-in), so a
    typo (``?stat=resolved``) is not silently a different question."""
    known = getattr(request.state, "known_query", frozenset())
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationError(unknown[0][:40], "is not a parameter here; use " + (", ".join(sorted(known)) or "none"))


router = APIRouter(prefix="/api/v1", responses=PROBLEMS, route_class=_Route,
                   dependencies=[Depends(_known_query_only)])


# --- responses ---------------------------------------------------------------------------------


class CustomerRef(BaseModel):
    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None


class ProductRef(BaseModel):
    sku: str
    name: str


class SlaOut(BaseModel):
    policy: str
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolve_due_at: datetime | None
    paused_since: datetime | None
    warned: bool
    breached: bool


class EntitlementOut(BaseModel):
    name: str
    ends_on: date
    cases_left: int | None
    minutes_left: int | None


class CaseFields(BaseModel):
    number: str
    id: uuid.UUID
    title: str
    description: str
    priority: int
    origin: str
    type: str
    state: str
    status: str
    customer: CustomerRef
    queue: str | None
    owner: str | None
    created_by: str | None
    category: str | None
    product: ProductRef | None
    asset_serial: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    cancelled_at: datetime | None
    resolution: str | None
    reopen_count: int
    version: int
    escalated: bool
    sla: SlaOut | None
    entitlement: EntitlementOut | None


class ChildRef(BaseModel):
    number: str
    state: str


class Related(BaseModel):
    parent: str | None
    children: list[ChildRef]
    merged_in: list[str]
    merged_into: str | None


class TimelineEntry(BaseModel):
    id: uuid.UUID
    kind: str
    event: str | None
    case: str = Field(description="The case the entry was made on (a case merged into this one, for some)")
    author: str | None
    occurred_at: datetime
    direction: str
    subject: str
    body: str
    duration_seconds: int | None
    visibility: str


class CaseDetail(BaseModel):
    """One case as ``caseterm cases show --json`` prints it: fields, related cases, timeline (newest first)."""

    case: CaseFields
    related: Related
    timeline: list[TimelineEntry]


class CaseSummary(BaseModel):
    """A case in a list, as ``caseterm cases list --json`` prints it (plus id, customer id, version)."""

    number: str
    id: uuid.UUID
    priority: int
    title: str
    customer: str
    customer_id: uuid.UUID
    state: str
    status: str
    queue: str | None
    owner: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    version: int


class CasePage(BaseModel):
    cases: list[CaseSummary]
    count: int
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class CustomerOut(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    postcode: str | None
    city: str | None
    country: str | None
    tier: str
    parent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class CustomerHit(BaseModel):
    """A customer in a list, as ``caseterm customers find --json`` prints it."""

    id: uuid.UUID
    name: str
    kind: str
    email: str | None
    phone: str | None
    city: str | None
    tier: str
    matched: str | None = Field(description="What matched q: email, phone, order, serial or name; null without q")
    active_cases: int = Field(description="Active cases of the customer's among the caller's")


class CustomerPage(BaseModel):
    customers: list[CustomerHit]
    count: int
    next: str | None


class CustomerDetail(BaseModel):
    customer: CustomerOut
    cases: list[CaseSummary] = Field(description="The customer's latest cases among the caller's (newest first)")


# --- requests ----------------------------------------------------------------------------------


class CaseIn(In):
    """A new case. Name the customer by ``customer_id`` or ``customer_email`` (one of them).
    Without a queue or owner the server's routing rules place it, like any new case."""

    customer_id: uuid.UUID | None = None
    customer_email: _line(254) | None = None
    title: _line(200, 1)
    description: _line(20_000) = ""
    origin: Origin = "web"
    type: CaseType = "problem"
    priority: Priority = 3
    category: _line(80) | None = Field(default=None, description="A category's name")
    product: _line(40) | None = Field(default=None, description="A product's SKU")
    asset_serial: _line(80) | None = Field(default=None, description="The serial number of one of the customer's assets")
    queue: _line(80) | None = Field(default=None, description="A queue's name (skips routing)")
    owner: _line(64) | None = Field(default=None, description="An agent's login, or 'me' (skips routing)")


class CasePatch(In):
    """The fields to change; those left out stay. ``category`` and ``product`` take null to clear."""

    title: _line(200, 1) = None
    description: _line(20_000) = None
    priority: Priority = None
    origin: Origin = None
    type: CaseType = None
    category: _line(80) | None = Field(default=None, description="A category's name; null clears")
    product: _line(40) | None = Field(default=None, description="A product's SKU; null clears")


class StatusIn(In):
    status: SettableStatus
    note: _line(2_000) | None = None


class AssignIn(In):
    """Leave a field out to keep it; null clears it."""

    queue: _line(80) | None = Field(default=None, description="A queue's name; null: no queue")
    owner: _line(64) | None = Field(default=None, description="An agent's login or 'me'; null: nobody")


class ResolveIn(In):
    resolution: _line(20_000, 1)
    kind: ResolutionKind = "problem_solved"
    force: StrictBool = Field(default=False, description="Resolve a parent whose children are active (supervisors)")


class CancelIn(In):
    reason: _line(2_000) | None = None


class ReopenIn(In):
    reason: _line(2_000) | None = None
    override: StrictBool = Field(default=False, description="Reopen after the reopen window (supervisors)")


class ActivityIn(In):
    kind: LoggableKind = "note"
    subject: _line(300) = ""
    body: _line(100_000) = ""
    direction: Direction | None = Field(default=None, description="Default: inbound for email_in, outbound for "
                                                                  "email_out, none otherwise")
    duration_seconds: StrictInt | None = Field(default=None, ge=0, le=24 * 3600)
    visibility: Visibility = "internal"
    occurred_at: Instant | None = Field(default=None, description="When it happened (default now; not in the future)")


class CustomerIn(In):
    name: _line(200, 1)
    email: _line(254) | None = None
    phone: _line(40) | None = None
    kind: CustomerKind = "person"
    address: _line(300) | None = None
    postcode: _line(20) | None = None
    city: _line(100) | None = None
    country: _line(2) | None = Field(default=None, description="Two-letter country code")
    tier: Tier = "standard"
    parent_id: uuid.UUID | None = Field(default=None, description="The organisation a person belongs to")


# --- plumbing ----------------------------------------------------------------------------------


@contextmanager
def _work(request: Request, agent, *, read_only: bool = False) -> Iterator[tuple[Any, m.Agent, Scope]]:
    """One unit of work on the server's database, the caller (as a row of this session)
    and their scope. State-machine and business-rule refusals become 409 Conflict.
    ``read_only`` (the GETs): a snapshot that does not wait for a sync push being written."""
    database = request.app.state.db
    with (database.reader() if read_only else database.uow()) as uow:
        actor = uow.session.get(m.Agent, agent.id)
        if actor is None or actor.deleted or not actor.active:  # deactivated since the token was checked
            raise PermissionDenied("the token's agent is deactivated")
        try:
            yield uow, actor, Scope.of(uow.session, actor)
        except (TransitionError, RuleError) as exc:
            raise Conflict(str(exc)) from exc


def _refused(scope: Scope, entity: str, before: Any, after: dict[str, Any]) -> None:
    if (why := scope.write_refusal(entity, before, after)) is not None:
        raise PermissionDenied(why)


def _case(uow, scope: Scope, number: str) -> m.Case:
    """The case by number (or id) if the caller may see it; otherwise the same 404 as for
    a case that does not exist."""
    value = normalise_number(number)
    case = uow.session.exec(select(m.Case).where(m.Case.number == value)).first()
    if case is None:
        try:
            case = uow.session.get(m.Case, uuid.UUID(number.strip()))
        except ValueError:
            case = None
    if case is None or case.deleted or not scope.case_visible(case):
        raise NotFound(f"No case {number} among yours")
    return case


def _customer_visible(scope: Scope, customer: m.Customer | None) -> bool:
    return customer is not None and not customer.deleted and scope.row_visible("customers", customer)


def _customer(uow, scope: Scope, customer_id: uuid.UUID) -> m.Customer:
    customer = uow.session.get(m.Customer, customer_id)
    if not _customer_visible(scope, customer):
        raise NotFound(f"No customer {customer_id} among yours")
    return customer


def _reference(field: str, find, *args):
    """A row a body names (queue, category, product, agent): a 422 naming the field when
    it names nothing."""
    try:
        return find(*args)
    except NotFound as exc:
        raise ValidationError(field, str(exc)) from None


def _agent(uow, actor: m.Agent, login: str, field: str) -> m.Agent:
    from caseterm.services.lookup import agent_by_login

    return actor if login.strip().lower() == "me" else _reference(field, agent_by_login, uow, login)


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# keyset cursors: the sort's name and the last row's key, base64url JSON (opaque to callers)


def _encode_cursor(kind: str, values: list[Any]) -> str:
    wire = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps([kind, *wire]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, kind: str, types: tuple[type, ...]) -> list[Any]:
    bad = ValidationError("cursor", "is not a cursor this list gave (start again without it)")
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise bad from None
    if not isinstance(raw, list) or len(raw) != len(types) + 1 or raw[0] != kind:
        raise bad
    values = []
    for value, kind_of in zip(raw[1:], types):
        try:
            if kind_of is int and type(value) is int and abs(value) < 2**31:
                values.append(value)
            elif kind_of is datetime and isinstance(value, str):
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError
                values.append(moment.astimezone(timezone.utc))
            elif kind_of is uuid.UUID and isinstance(value, str):
                values.append(uuid.UUID(value))
            elif kind_of is str and isinstance(value, str) and len(value) <= 400 and "\x00" not in value:
                values.append(value)
            else:
                raise ValueError
        except (ValueError, OverflowError):
            raise bad from None
    return values


def _after(columns: list, values: list, descending: bool):
    """Rows after the key ``values`` in the order of ``columns`` (all ascending or all
    descending): (a > x) or (a = x and b > y) or … — portable, unlike row values."""
    ors = []
    for i, column in enumerate(columns):
        step = column < values[i] if descending else column > values[i]
        ors.append(and_(*(columns[j] == values[j] for j in range(i)), step))
    return or_(*ors)


# --- scope in SQL (mirrors Scope.case_visible / row_visible; rows are re-checked too) -----------


def _cases_in_scope(scope: Scope):
    if scope.sees_everything:
        return true()
    if scope.role == "technician":
        return m.Case.owner_id == scope.agent_id
    if scope.role == "clerk":
        return m.Case.created_by_id == scope.agent_id
    return or_(m.Case.owner_id == scope.agent_id, m.Case.created_by_id == scope.agent_id,
               m.Case.queue_id.in_(scope.queue_ids) if scope.queue_ids else false())


def _customers_in_scope(scope: Scope):
    if scope.role != "technician":
        return true()
    return m.Customer.id.in_(select(m.Case.customer_id).where(m.Case.owner_id == scope.agent_id,
                                                              m.Case.deleted == False))  # noqa: E712


# --- rendering ---------------------------------------------------------------------------------


def _case_query(scope: Scope):
    owner = m.Agent
    return (select(m.Case, m.Customer.name, m.Queue.name, owner.login)
            .join(m.Customer, m.Customer.id == m.Case.customer_id)
            .outerjoin(m.Queue, m.Queue.id == m.Case.queue_id)
            .outerjoin(owner, owner.id == m.Case.owner_id)
            .where(m.Case.deleted == False, _cases_in_scope(scope)))  # noqa: E712


def _summary(case: m.Case, customer: str, queue: str | None, owner: str | None) -> CaseSummary:
    return CaseSummary(number=case.number, id=case.id, priority=case.priority, title=case.title, customer=customer,
                       customer_id=case.customer_id, state=case.state, status=case.status_reason, queue=queue,
                       owner=owner, created_at=case.created_at, updated_at=case.updated_at,
                       resolved_at=case.resolved_at, version=case.version)


def _entry(activity: m.Activity, case_number: str, author: str | None) -> TimelineEntry:
    return TimelineEntry(id=activity.id, kind=activity.kind, event=activity.event, case=case_number, author=author,
                         occurred_at=activity.occurred_at, direction=activity.direction, subject=activity.subject,
                         body=activity.body, duration_seconds=activity.duration_seconds,
                         visibility=activity.visibility)


def _detail(uow, scope: Scope, case: m.Case, timeline_limit: int = 200) -> CaseDetail:
    s = uow.session

    def get(model, ident):
        return s.get(model, ident) if ident else None

    customer = s.get(m.Customer, case.customer_id)
    queue, owner, creator = get(m.Queue, case.queue_id), get(m.Agent, case.owner_id), get(m.Agent, case.created_by_id)
    category, product, asset = get(m.Category, case.category_id), get(m.Product, case.product_id), get(m.Asset,
                                                                                                      case.asset_id)
    entitlement = get(m.Entitlement, case.entitlement_id)
    parent, merged_into = get(m.Case, case.parent_id), get(m.Case, case.merged_into_id)
    live = m.Case.deleted == False  # noqa: E712
    children = [c for c in s.exec(select(m.Case).where(m.Case.parent_id == case.id, live).order_by(m.Case.number))
                if scope.case_visible(c)]
    merged_in = [c for c in s.exec(select(m.Case).where(m.Case.merged_into_id == case.id, live)
                                   .order_by(m.Case.number)) if scope.case_visible(c)]
    # the timeline: this case's and those of the cases merged into it (and into them), the caller's only
    family, frontier = [case.id], [case.id]
    while frontier and len(family) < 1000:
        frontier = [i for i in s.exec(select(m.Case.id).where(m.Case.merged_into_id.in_(frontier))).all()
                    if i not in family and scope.case_id_visible(i)]
        family += frontier
    author = m.Agent
    rows = s.exec(select(m.Activity, m.Case.number, author.login)
                  .join(m.Case, m.Case.id == m.Activity.case_id)
                  .outerjoin(author, author.id == m.Activity.author_id)
                  .where(m.Activity.case_id.in_(family), m.Activity.deleted == False)  # noqa: E712
                  .order_by(m.Activity.occurred_at.desc(), m.Activity.id.desc())
                  .limit(timeline_limit)).all()
    fields = CaseFields(
        number=case.number, id=case.id, title=case.title, description=case.description, priority=case.priority,
        origin=case.origin, type=case.case_type, state=case.state, status=case.status_reason,
        customer=CustomerRef(id=customer.id, name=customer.name, email=customer.email, phone=customer.phone),
        queue=queue.name if queue else None, owner=owner.login if owner else None,
        created_by=creator.login if creator else None, category=category.name if category else None,
        product=ProductRef(sku=product.sku, name=product.name) if product else None,
        asset_serial=asset.serial_number if asset else None, created_at=case.created_at, updated_at=case.updated_at,
        resolved_at=case.resolved_at, cancelled_at=case.cancelled_at, resolution=case.resolution,
        reopen_count=case.reopen_count, version=case.version, escalated=case.escalated,
        sla=SlaOut(policy=case.sla_policy, first_response_due_at=case.first_response_due_at,
                   first_response_at=case.first_response_at, resolve_due_at=case.resolve_due_at,
                   paused_since=case.sla_paused_at, warned=case.sla_warned, breached=case.sla_breached)
        if case.sla_policy else None,
        entitlement=EntitlementOut(name=entitlement.name, ends_on=entitlement.ends_on,
                                   cases_left=entitlement.cases_left, minutes_left=entitlement.minutes_left)
        if entitlement else None,
    )
    related = Related(parent=parent.number if parent and scope.case_visible(parent) else None,
                      children=[ChildRef(number=c.number, state=c.state) for c in children],
                      merged_in=[c.number for c in merged_in],
                      merged_into=merged_into.number if merged_into and scope.case_visible(merged_into) else None)
    return CaseDetail(case=fields, related=related, timeline=[_entry(a, n, who) for a, n, who in rows])


def _customer_out(c: m.Customer) -> CustomerOut:
    return CustomerOut(id=c.id, kind=c.kind, name=c.name, email=c.email, phone=c.phone, address=c.address,
                       postcode=c.postcode, city=c.city, country=c.country, tier=c.tier, parent_id=c.parent_id,
                       created_at=c.created_at, updated_at=c.updated_at, version=c.version)


# --- cases: reads ------------------------------------------------------------------------------

_CASE_SORTS = {
    # priority first, then oldest first (the queue's order)
    "priority": (lambda: [m.Case.priority, m.Case.created_at, m.Case.id], False, (int, datetime, uuid.UUID)),
    "newest": (lambda: [m.Case.created_at, m.Case.id], True, (datetime, uuid.UUID)),
    # most recently changed first (what an integration polls)
    "updated": (lambda: [m.Case.updated_at, m.Case.id], True, (datetime, uuid.UUID)),
}


@router.get("/cases", response_model=CasePage, tags=["cases"])
def list_cases(
    request: Request,
    agent: SignedIn,
    state: Annotated[Literal["active", "resolved", "cancelled", "all"] | None,
                     Query(description="Default: active, or the state of `status` when given")] = None,
    status: Annotated[Status | None, Query(description="Only this status reason")] = None,
    queue: Annotated[QueryText, Query(max_length=80, description="A queue's name")] = None,
    owner: Annotated[QueryText, Query(max_length=64, description="A login, 'me', or 'none' for unassigned")] = None,
    customer_id: Annotated[uuid.UUID | None, Query()] = None,
    q: Annotated[QueryText, Query(max_length=200, description="Text in the number, title or customer name")] = None,
    sort: Annotated[Literal["priority", "newest", "updated"], Query()] = "priority",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[QueryText, Query(max_length=1000, description="The `next` of the previous page")] = None,
) -> CasePage:
    """Cases among the caller's, filtered, a page at a time (keyset: pages stay fast deep in a list)."""
    with _work(request, agent, read_only=True) as (uow, actor, scope):
        query = _case_query(scope)
        if status is not None:
            of_status = StatusReason(status).state.value
            if state not in (None, "all", of_status):
                raise ValidationError("status", f"'{status}' is a status of {of_status} cases, not {state} ones")
            query = query.where(m.Case.status_reason == status)
        elif state != "all":
            query = query.where(m.Case.state == (state or "active"))
        if queue is not None:
            from caseterm.services.lookup import queue_by_name

            query = query.where(m.Case.queue_id == _reference("queue", queue_by_name, uow, queue).id)
        if owner is not None and owner.strip().lower() == "none":
            query = query.where(m.Case.owner_id == None)  # noqa: E711
        elif owner is not None:
            if owner.strip().lower() == "me":
                owner_id = actor.id
            else:
                owner_id = uow.session.exec(select(m.Agent.id).where(
                    func.lower(m.Agent.login) == owner.strip().lower(), m.Agent.deleted == False)).first()  # noqa: E712
                if owner_id is None:
                    raise ValidationError("owner", f"no agent '{owner}'")
            query = query.where(m.Case.owner_id == owner_id)
        if customer_id is not None:
            query = query.where(m.Case.customer_id == customer_id)
        if q is not None and q.strip():
            text = q.strip()
            query = query.where(or_(m.Case.number == normalise_number(text),
                                    m.Case.number.like(_like(text).upper()[1:], escape="\\"),
                                    func.lower(m.Case.title).like(_like(text), escape="\\"),
                                    func.lower(m.Customer.name).like(_like(text), escape="\\")))
        columns_of, descending, types = _CASE_SORTS[sort]
        columns = columns_of()
        if cursor:
            query = query.where(_after(columns, _decode_cursor(cursor, sort, types), descending))
        query = query.order_by(*(c.desc() if descending else c.asc() for c in columns)).limit(limit + 1)
        rows = uow.session.exec(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        page = [_summary(*row) for row in rows if scope.case_visible(row[0])]
        following = None
        if more and rows:
            last = rows[-1][0]
            following = _encode_cursor(sort, [getattr(last, c.key) for c in columns])
        return CasePage(cases=page, count=len(page), next=following)


@router.get("/cases/{number}", response_model=CaseDetail, tags=["cases"])
def get_case(request: Request, agent: SignedIn, number: CaseNumber,
             timeline: Annotated[int, Query(ge=0, le=1000, description="Timeline entries (newest first)")] = 200
             ) -> CaseDetail:
    """One case: its fields, related cases and timeline (newest first)."""
    with _work(request, agent, read_only=True) as (uow, _, scope):
        return _detail(uow, scope, _case(uow, scope, number), timeline)


# --- cases: writes -----------------------------------------------------------------------------


@router.post("/cases", response_model=CaseDetail, status_code=201, tags=["cases"])
def create_case(request: Request, response: Response, agent: SignedIn, body: CaseIn) -> CaseDetail:
    """Open a case; routed by the server's rules (queue, owner, SLA) unless it names a queue or owner."""
    from caseterm.services import cases, lookup

    if (body.customer_id is None) == (body.customer_email is None):
        raise ValidationError("customer_id", "name the customer by customer_id or by customer_email (one of them)")
    with _work(request, agent) as (uow, actor, scope):
        if body.customer_id is not None:
            customer = uow.session.get(m.Customer, body.customer_id)
            missing = f"no customer with id {body.customer_id}"
            field = "customer_id"
        else:
            email = body.customer_email.strip().lower()
            customer = uow.session.exec(select(m.Customer).where(m.Customer.email == email,
                                                                 m.Customer.deleted == False)).first()  # noqa: E712
            missing = f"no customer with email {body.customer_email}; create them first (POST /api/v1/customers)"
            field = "customer_email"
        if not _customer_visible(scope, customer):
            raise ValidationError(field, missing)
        asset = None
        if body.asset_serial:
            asset = uow.session.exec(select(m.Asset).where(m.Asset.serial_number == body.asset_serial.strip(),
                                                           m.Asset.customer_id == customer.id,
                                                           m.Asset.deleted == False)).first()  # noqa: E712
            if asset is None:
                raise ValidationError("asset_serial", f"{customer.name} has no asset with serial {body.asset_serial}")
        _refused(scope, "cases", None, {"created_by_id": actor.id, "customer_id": customer.id})
        case = cases.create_case(
            uow, actor, customer=customer, title=body.title, description=body.description, origin=body.origin,
            case_type=body.type, priority=body.priority, asset=asset,
            category=_reference("category", lookup.category_by_name, uow, body.category) if body.category else None,
            product=_reference("product", lookup.product_by_sku, uow, body.product) if body.product else None,
            queue=_reference("queue", lookup.queue_by_name, uow, body.queue) if body.queue else None,
            owner=_agent(uow, actor, body.owner, "owner") if body.owner else None,
        )
        response.headers["Location"] = f"{router.prefix}/cases/{case.number}"
        return _detail(uow, scope, case)


@router.patch("/cases/{number}", response_model=CaseDetail, tags=["cases"])
def update_case(request: Request, agent: SignedIn, number: CaseNumber, body: CasePatch) -> CaseDetail:
    """Edit an active case's descriptive fields; the timeline lists each change. Status,
    assignment and resolution are actions of their own (POST …/status, …/assign, …/resolve)."""
    from caseterm.services import cases, lookup

    given = body.model_fields_set
    if not given:
        raise ValidationError("body", "name at least one field to change")
    with _work(request, agent) as (uow, actor, scope):
        case = _case(uow, scope, number)
        fields: dict[str, Any] = {name: getattr(body, name) for name in ("title", "description", "priority", "origin")
                                  if name in given}
        if "type" in given:
            fields["case_type"] = body.type
        if "category" in given:
            fields["category_id"] = _reference("category", lookup.category_by_name, uow, body.category).id \
                if body.category else None
        if "product" in given:
            fields["product_id"] = _reference("product", lookup.product_by_sku, uow, body.product).id \
                if body.product else None
        _refused(scope, "cases", case, fields)
        cases.update_case(uow, actor, case, **fields)
        return _detail(uow, scope, case)


@router.post("/cases/{number}/status", response_model=CaseDetail, tags=["cases"])
def set_status(request: Request, agent: SignedIn, number: CaseNumber, body: StatusIn) -> CaseDetail:
    """Move an active case to another active status (to close it, resolve or cancel it)."""
    from caseterm.services import cases

    with _work(request, agent) as (uow, actor, scope):
        case = _case(uow, scope, number)
        _refused(scope, "cases", case, {"status_reason": body.status})
        cases.set_status(uow, actor, case, body.status, body.note)
        return _detail(uow, scope, case)


@router.post("/cases/{number}/assign", response_model=CaseDetail, tags=["cases"])
def assign_case(request: Request, agent: SignedIn, number: CaseNumber, body: AssignIn) -> CaseDetail:
    """Put the case in a queue and/or give it an owner (another agent's: agents, supervisors, admins).
    The case may leave the caller's cases by it; the answer is the case as it is then."""
    from caseterm.services import cases, lookup

    given = body.model_fields_set
    if not given:
        raise ValidationError("body", "name a queue or an owner (null clears)")
    with _work(request, agent) as (uow, actor, scope):
        case = _case(uow, scope, number)
        queue: Any = False
        owner: Any = False
        if "queue" in given:
            queue = _reference("queue", lookup.queue_by_name, uow, body.queue) if body.queue else None
        if "owner" in given:
            owner = _agent(uow, actor, body.owner, "owner") if body.owner else None
        _refused(scope, "cases", case, {})
        cases.assign_case(uow, actor, case, queue=queue, owner=owner)
        return _detail(uow, scope, case)


@router.post("/cases/{number}/resolve", response_model=CaseDetail, tags=["cases"])
def resolve_case(request: Request, agent: SignedIn, number: CaseNumber, body: ResolveIn) -> CaseDetail:
    """Resolve an active case with a resolution text."""
    from caseterm.services import cases

    with _work(request, agent) as (uow, actor, scope):
        case = _case(uow, scope, number)
        _refused(scope, "cases", case, {"state": "resolved"})
        cases.resolve_case(uow, actor, case, body.resolution, body.kind, body.force)
        return _detail(uow, scope, case)


@router.post("/cases/{number}/cancel", response_model=CaseDetail, tags=["cases"])
def cancel_case(request: Request, agent: SignedIn, number: CaseNumber, body: CancelIn) -> CaseDetail:
    """Cancel an active case."""
    from caseterm.services import cases

    with _work(request, agent) as (uow, actor, scope):
        case = _case(uow, scope, number)
        _refused(scope, "cases", case, {"state": "cancelled"})
        cases.cancel_case(uow, actor, case, body.reason)
        return _detail(uow, scope, case)


@router.post("/cases/{number}/reopen", response_model=CaseDetail, tags=["cases"])
def reopen_case(request: Request, agent: SignedIn, number: CaseNumber, body: ReopenIn) -> CaseDetail:
    """Reopen a resolved case (within the reopen window; supervisors may override) or a cancelled one."""
    from caseterm.services import cases

    with _work(request, agent) as (uow, actor, scope):
        case = _case(uow, scope, number)
        _refused(scope, "cases", case, {"state": "active"})
        cases.reopen_case(uow, actor, case, body.reason, body.override)
        return _detail(uow, scope, case)


@router.post("/cases/{number}/activities", response_model=TimelineEntry, status_code=201, tags=["cases"])
def add_activity(request: Request, agent: SignedIn, number: CaseNumber, body: ActivityIn) -> TimelineEntry:
    """Log a note, phone call (with its duration), email in or out, chat, task or visit on the timeline."""
    from caseterm.services import cases

    with _work(request, agent) as (uow, actor, scope):
        case = _case(uow, scope, number)
        _refused(scope, "activities", None, {"case_id": case.id})
        entry = cases.add_activity(uow, actor, case, kind=body.kind, body=body.body, subject=body.subject,
                                   direction=body.direction, duration_seconds=body.duration_seconds,
                                   visibility=body.visibility, occurred_at=body.occurred_at)
        return _entry(entry, case.number, actor.login)


# --- customers ---------------------------------------------------------------------------------


@router.get("/customers", response_model=CustomerPage, tags=["customers"])
def list_customers(
    request: Request,
    agent: SignedIn,
    q: Annotated[QueryText, Query(max_length=200, description="Email, phone, order number, asset serial, "
                                                              "or part of the name or email")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[QueryText, Query(max_length=1000, description="The `next` of the previous page")] = None,
) -> CustomerPage:
    """Customers among the caller's (a technician: their cases' customers), by name."""
    with _work(request, agent, read_only=True) as (uow, _, scope):
        active = (select(func.count(m.Case.id))
                  .where(m.Case.customer_id == m.Customer.id, m.Case.state == "active",
                         m.Case.deleted == False, _cases_in_scope(scope))  # noqa: E712
                  .correlate(m.Customer).scalar_subquery())
        query = select(m.Customer, active).where(m.Customer.deleted == False, _customers_in_scope(scope))  # noqa: E712
        text = (q or "").strip()
        email = text.lower() if looks_like_email(text) else None
        digits = phone_digits(text) if len(phone_digits(text)) >= 6 else None
        if text:
            order_of = select(m.SalesOrder.customer_id).where(m.SalesOrder.number == text.upper(),
                                                              m.SalesOrder.deleted == False)  # noqa: E712
            serial_of = select(m.Asset.customer_id).where(m.Asset.serial_number == text,
                                                          m.Asset.deleted == False)  # noqa: E712
            query = query.where(or_(
                m.Customer.email == email if email else false(),
                m.Customer.phone_digits == digits if digits else false(),
                m.Customer.id.in_(order_of), m.Customer.id.in_(serial_of),
                func.lower(m.Customer.name).like(_like(text), escape="\\"),
                func.lower(m.Customer.email).like(_like(text), escape="\\")))
        columns = [m.Customer.name, m.Customer.id]
        if cursor:
            query = query.where(_after(columns, _decode_cursor(cursor, "customers", (str, uuid.UUID)), False))
        rows = uow.session.exec(query.order_by(*columns).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        orders: set[uuid.UUID] = set()
        serials: set[uuid.UUID] = set()
        if text:
            ids = [c.id for c, _ in rows]
            orders = set(uow.session.exec(order_of.where(m.SalesOrder.customer_id.in_(ids))).all())
            serials = set(uow.session.exec(serial_of.where(m.Asset.customer_id.in_(ids))).all())

        def matched(c: m.Customer) -> str | None:
            if not text:
                return None
            if email and c.email == email:
                return "email"
            if digits and c.phone_digits == digits:
                return "phone"
            return "order" if c.id in orders else "serial" if c.id in serials else "name"

        hits = [CustomerHit(id=c.id, name=c.name, kind=c.kind, email=c.email, phone=c.phone, city=c.city, tier=c.tier,
                            matched=matched(c), active_cases=n) for c, n in rows]
        following = _encode_cursor("customers", [rows[-1][0].name, rows[-1][0].id]) if more and rows else None
        return CustomerPage(customers=hits, count=len(hits), next=following)


@router.get("/customers/{customer_id}", response_model=CustomerDetail, tags=["customers"])
def get_customer(request: Request, agent: SignedIn, customer_id: uuid.UUID) -> CustomerDetail:
    """One customer and their latest cases among the caller's."""
    with _work(request, agent, read_only=True) as (uow, _, scope):
        customer = _customer(uow, scope, customer_id)
        rows = uow.session.exec(_case_query(scope).where(m.Case.customer_id == customer.id)
                                .order_by(m.Case.created_at.desc(), m.Case.id.desc()).limit(50)).all()
        return CustomerDetail(customer=_customer_out(customer), cases=[_summary(*r) for r in rows])


@router.post("/customers", response_model=CustomerOut, status_code=201, tags=["customers"])
def create_customer(request: Request, response: Response, agent: SignedIn, body: CustomerIn) -> CustomerOut:
    """A new person or organisation; an email another customer has is refused."""
    from caseterm.services import customers

    with _work(request, agent) as (uow, actor, scope):
        if body.parent_id is not None:
            parent = uow.session.get(m.Customer, body.parent_id)
            if not _customer_visible(scope, parent):
                raise ValidationError("parent_id", f"no organisation with id {body.parent_id}")
        values = body.model_dump()
        _refused(scope, "customers", None, values)
        customer = customers.create_customer(uow, actor, **values)
        response.headers["Location"] = f"{router.prefix}/customers/{customer.id}"
        return _customer_out(customer)


__all__ = ["router"]
