"""The local store: tables, migrations, engine set-up and the queries that must be fast.

Submodules are imported where needed, never here: ``store.sqlite`` and ``store.queries``
are the light read path (stdlib ``sqlite3`` only) used by ``caseterm cases list`` and the
TUI's first paint; ``store.models`` and ``store.engine`` pull in SQLModel for writes.
"""
