"""The server's accounts: agents, their bearer tokens (only a SHA-256 is kept), and the
devices (client stores) registered with it.

A token is 32 random bytes, URL-safe, prefixed ``ct_`` so it is recognisable in a
config file or a leaked log. It is shown once, when issued. Revoking takes effect on
the next request: every request looks the hash up.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlmodel import func, select

from caseterm.domain.enums import Role
from caseterm.errors import NotFound, PermissionDenied, ValidationError
from caseterm.store.models import Agent, Queue, QueueMember, ServerDevice, ServerToken
from caseterm.store.uow import UnitOfWork

TOKEN_PREFIX = "ct_"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_agent(uow: UnitOfWork, login: str, role: str, *, name: str | None = None, queues: list[str] = (),
              capacity: int = 10) -> Agent:
    """A new agent (or an existing one's role and queues updated), as the server's admin."""
    from caseterm.domain import validate
    from caseterm.services.lookup import agent_by_login

    admin = agent_by_login(uow, "admin")
    login = validate.required_line("login", login, 64).lower()
    if not login.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationError("login", "letters, digits, '.', '_' and '-' only")
    role = Role.parse(role, "role").value
    agent = uow.session.exec(select(Agent).where(Agent.login == login)).first()
    if agent is None:
        agent = uow.create(Agent(login=login, display_name=name or login, role=role, capacity=capacity),
                           admin.id, "create_agent")
    else:
        uow.update(agent, admin.id, "update_agent", role=role, active=True,
                   **({"display_name": name} if name else {}))
    for queue_name in queues:
        queue = uow.session.exec(select(Queue).where(func.lower(Queue.name) == queue_name.strip().lower())).first()
        if queue is None:
            queue = uow.create(Queue(name=queue_name.strip()), admin.id, "create_queue")
        member = uow.session.exec(select(QueueMember).where(QueueMember.queue_id == queue.id,
                                                            QueueMember.agent_id == agent.id)).first()
        if member is None:
            uow.create(QueueMember(queue_id=queue.id, agent_id=agent.id), admin.id, "add_member")
        elif member.deleted:
            uow.update(member, admin.id, "add_member", deleted=False)
    return agent


@dataclass
class IssuedToken:
    id: uuid.UUID
    login: str
    token: str  # shown once


def issue_token(uow: UnitOfWork, login: str, label: str = "") -> IssuedToken:
    from caseterm.services.lookup import agent_by_login

    agent = agent_by_login(uow, login)
    if not agent.active:
        raise ValidationError("login", f"{agent.login} is deactivated")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ServerToken(agent_id=agent.id, token_hash=hash_token(token), label=label[:80], created_at=uow.now())
    uow.session.add(row)
    return IssuedToken(row.id, agent.login, token)


def revoke(uow: UnitOfWork, *, token_id: str | None = None, login: str | None = None) -> int:
    """Revoke one token (by its id) or every token of ``login``; returns how many."""
    from caseterm.services.lookup import agent_by_login

    query = select(ServerToken).where(ServerToken.revoked_at == None)  # noqa: E711
    if token_id:
        try:
            query = query.where(ServerToken.id == uuid.UUID(token_id))
        except ValueError:
            raise ValidationError("token id", f"'{token_id}' is not a token id (see 'caseterm server token list')") \
                from None
    elif login:
        query = query.where(ServerToken.agent_id == agent_by_login(uow, login).id)
    else:
        raise ValidationError("token", "name a token id or --login")
    rows = uow.session.exec(query).all()
    if token_id and not rows:
        raise NotFound(f"No live token {token_id}")
    for row in rows:
        row.revoked_at = uow.now()
        uow.session.add(row)
    return len(rows)


def tokens(uow: UnitOfWork) -> list[tuple[ServerToken, str]]:
    return list(uow.session.exec(select(ServerToken, Agent.login).join(Agent, Agent.id == ServerToken.agent_id)
                                 .order_by(ServerToken.created_at)).all())


def authenticate(uow: UnitOfWork, token: str) -> Agent:
    """The agent a live token belongs to; PermissionDenied for anything else."""
    found = uow.session.exec(select(ServerToken, Agent).join(Agent, Agent.id == ServerToken.agent_id, isouter=True)
                             .where(ServerToken.token_hash == hash_token(token))).first()
    if found is None or found[0].revoked_at is not None:
        raise PermissionDenied("the token is unknown or revoked; ask an admin for a new one")
    agent = found[1]
    if agent is None or not agent.active or agent.deleted:
        raise PermissionDenied("the token's agent is deactivated")
    return agent


def register_device(uow: UnitOfWork, agent: Agent, device_id: uuid.UUID, name: str = "") -> ServerDevice:
    """The device's short code, made on first registration and kept after (registering
    again from the same store gets the same code)."""
    device = uow.session.get(ServerDevice, device_id)
    if device is not None:
        if device.agent_id != agent.id:
            raise PermissionDenied("this store is registered to another agent; log in with a new store (--db)")
        return device
    count = uow.session.exec(select(func.count()).select_from(ServerDevice)).one()
    code = _code(count + 1)
    while uow.session.exec(select(ServerDevice).where(ServerDevice.code == code)).first() is not None:
        count += 1
        code = _code(count + 1)
    device = ServerDevice(id=device_id, code=code, agent_id=agent.id, name=name[:80], registered_at=uow.now())
    uow.session.add(device)
    return device


def _code(n: int) -> str:
    """D + at least two characters: DAC, DAD, … (never LOC or SRV, which mean local and server)."""
    digits = []
    while n or len(digits) < 2:
        n, r = divmod(n, len(_CODE_ALPHABET))
        digits.append(_CODE_ALPHABET[r])
    return "D" + "".join(reversed(digits))


__all__ = ["IssuedToken", "add_agent", "authenticate", "hash_token", "issue_token", "register_device", "revoke",
           "tokens"]
