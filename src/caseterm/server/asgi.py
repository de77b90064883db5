"""The ASGI application uvicorn imports (``caseterm serve``): its database comes from
``CASETERM_SERVER_DATABASE_URL``, so every worker process opens the same one."""

from caseterm.server.app import create_app

app = create_app()
