"""Who is calling: the ``Authorization: Bearer <token>`` every endpoint but ``/healthz``
needs, as a FastAPI dependency shared by the sync endpoints (``server.app``) and the REST
API (``server.api``).

A missing, malformed, unknown or revoked token is a ``PermissionDenied`` raised while
``request.state.unauthenticated`` is set, which the app's error handler answers with
401 problem+json; a ``PermissionDenied`` after sign-in is a 403. The token itself is
never logged: only the agent's login goes into the access log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from caseterm.errors import PermissionDenied

# Documents the scheme in OpenAPI; missing or non-bearer headers come through as None and
# are refused below, in the app's problem+json form (not FastAPI's own 401/403).
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A token from `caseterm server token issue LOGIN`.")


def agent_of(request: Request,
             credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None):
    """The signed-in agent (detached from any session), or PermissionDenied → 401."""
    request.state.unauthenticated = True
    if credentials is None or not credentials.credentials.strip():
        raise PermissionDenied("send 'Authorization: Bearer <token>' (caseterm server token issue LOGIN)")
    from caseterm.server.accounts import authenticate

    database = request.app.state.db
    with database.reader() as uow:
        agent = authenticate(uow, credentials.credentials.strip())
        uow.session.expunge(agent)
    request.state.unauthenticated = False
    request.state.agent_login = agent.login
    return agent


SignedIn = Annotated[Any, Depends(agent_of)]

__all__ = ["SignedIn", "agent_of", "bearer"]
