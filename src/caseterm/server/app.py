"""The case server: FastAPI over the same tables and rules as the clients.

``create_app(database_url)`` builds the application; ``caseterm serve`` runs it on
uvicorn. Every endpoint but ``GET /healthz`` needs ``Authorization: Bearer <token>``
(``caseterm server token issue``). Errors are ``application/problem+json`` with a
``detail`` a person can act on; tokens never appear in the log. Request bodies above
``MAX_BODY`` bytes are refused before they are read.
"""


import logging
import time
from http import HTTPStatus
import uuid
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from pydantic import BaseModel, Field

from caseterm.errors import CasetermError, Conflict, NotFound, PermissionDenied, ValidationError
from caseterm.server.auth import agent_of
from caseterm.server.db import ServerDatabase
from caseterm.store.models import SYNCED_TABLES

MAX_BODY = 8 * 1024 * 1024  # a push of 10,000 ops fits; more is split by the client
MAX_OPS = 2_000  # ops per push (one transaction); the client sends 500 at a time
PROBLEM = "application/problem+json"
access_log = logging.getLogger("caseterm.server.access")
log = logging.getLogger("caseterm.server")


# --- wire models (OpenAPI documents them) ----------------------------------------------------


class RegisterIn(BaseModel):
    device_id: uuid.UUID
    name: str = Field(default="", max_length=80)


class RegisterOut(BaseModel):
    device_code: str
    agent: str
    role: str


SyncedTable = Literal[tuple(m.__tablename__ for m in SYNCED_TABLES)]  # the tables that sync


class PushOp(BaseModel):
    op_id: uuid.UUID
    entity: SyncedTable
    row_id: uuid.UUID
    kind: Literal["create", "update", "append"]
    action: str = Field(default="sync", max_length=40)
    actor_id: uuid.UUID | None = None
    base: dict[str, Any] | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    version: int = 0


class PushIn(BaseModel):
    device_id: uuid.UUID
    ops: list[PushOp] = Field(max_length=MAX_OPS)


class OpAnswer(BaseModel):
    op_id: str
    status: str
    version: int | None = None
    reason: str | None = None
    conflicts: dict[str, dict[str, Any]] | None = None


class PushOut(BaseModel):
    results: list[OpAnswer]


class PulledRow(BaseModel):
    entity: str
    row: dict[str, Any]


class Eviction(BaseModel):
    entity: str
    id: str


class PullOut(BaseModel):
    rows: list[PulledRow]
    evict: list[Eviction]
    cursor: int
    has_more: bool


# --- the app -------------------------------------------------------------------------------


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=PROBLEM,
                        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


class BodyLimit:
    """ASGI middleware: a request body is read (up to MAX_BODY, counted as it arrives, so a
    chunked body without Content-Length is held to it too) before the app sees it; past
    the limit the answer is 413 and the rest is not read."""

    def __init__(self, app, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.limit:
                access_log.info("request", extra={"method": scope["method"], "path": scope["path"], "status": 413})
                response = problem(413, "Request too large", f"send at most {self.limit:,} bytes; split the push")
                return await response(scope, receive, send)
            chunks.append(body)
            more = message.get("more_body", False)
        whole, given = b"".join(chunks), False

        async def replay():
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(database_url: str | None = None, db: ServerDatabase | None = None) -> FastAPI:
    database = db or ServerDatabase.open(database_url)
    app = FastAPI(title="caseterm case server", version="1",
                  description="Sync (push/pull) for caseterm clients. Every endpoint but /healthz needs a bearer "
                              "token from `caseterm server token issue`.")
    app.state.db = database

    @app.middleware("http")
    async def limits_and_access_log(request: Request, call_next):
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            response = problem(413, "Request too large", f"send at most {MAX_BODY:,} bytes; split the push")
        else:
            response = await call_next(request)
        # structured, and never the Authorization header
        access_log.info("request", extra={"method": request.method, "path": request.url.path,
                                          "status": response.status_code,
                                          "ms": round((time.perf_counter() - started) * 1000, 1),
                                          "agent": getattr(request.state, "agent_login", None)})
        return response

    app.add_middleware(BodyLimit)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        # unknown routes, wrong methods, unreadable bodies: problem+json like every other error
        title = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 400 and "parsing the body" in detail:
            detail = "the body is not JSON in UTF-8"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such address: {request.method} {request.url.path} (the API is described at /docs)"
        return problem(exc.status_code, title, detail)

    @app.exception_handler(CasetermError)
    async def _caseterm_error(request: Request, exc: CasetermError):
        if isinstance(exc, PermissionDenied) and getattr(request.state, "unauthenticated", False):
            return problem(401, "Not signed in", str(exc))
        status = (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
                  else 409 if isinstance(exc, Conflict) else 422 if isinstance(exc, ValidationError) else 400)
        return problem(status, type(exc).__name__, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return problem(422, "Invalid request", f"{where}: {first.get('msg', 'invalid')}" if where else "invalid body")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("request failed: %s %s", request.method, request.url.path)
        return problem(500, "Server error", "the server could not do that; nothing was changed by this request. "
                                            "Try again; if it persists, the server log has the details")

    Agent = Annotated[Any, Depends(agent_of)]

    from caseterm.server.api import router as rest_api

    app.include_router(rest_api)  # the REST API for integrations: /api/v1/cases, /api/v1/customers

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability; needs no token."""
        database.ping()
        return {"status": "ok"}

    @app.post("/api/v1/devices", response_model=RegisterOut, tags=["sync"])
    def register(body: RegisterIn, agent: Agent) -> RegisterOut:
        """Register a client store; the answer's device code goes into the numbers it makes offline."""
        from caseterm.server.accounts import register_device

        with database.uow() as uow:
            uow.lock_changes()  # PostgreSQL: registrations in turn, so two processes never hand out one code
            device = register_device(uow, agent, body.device_id, body.name)
            code = device.code
        return RegisterOut(device_code=code, agent=agent.login, role=agent.role)

    @app.post("/api/v1/sync/push", response_model=PushOut, tags=["sync"])
    def push(body: PushIn, agent: Agent) -> PushOut:
        """Apply a batch of outbox ops in order; each answered applied, conflict or rejected.
        Idempotent by op id: a replayed op gets its stored answer."""
        from caseterm.sync.server import apply_push

        results = apply_push(database.uow, agent.id, body.device_id,
                             [op.model_dump(mode="json") for op in body.ops])
        return PushOut(results=[OpAnswer(**r) for r in results])

    @app.get("/api/v1/sync/pull", response_model=PullOut, tags=["sync"])
    def pull_changes(agent: Agent, cursor: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                     limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> PullOut:
        """Rows changed after ``cursor`` in the caller's scope, in change order."""
        from caseterm.sync.server import pull

        with database.reader() as uow:
            page = pull(uow, agent, cursor, limit)
        # already plain JSON values (store.wire): sent as they are, not validated again
        # field by field through PullOut (which documents the shape), a third of a page's time
        return JSONResponse(page)

    return app


__all__ = ["MAX_BODY", "create_app"]
