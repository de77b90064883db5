"""Alembic environment for caseterm stores and the case server's database.

Run from code (``caseterm.store.migrate``), which hands over an open connection in
``config.attributes["connection"]``. For authoring a revision by hand:
``alembic -c src/caseterm/store/migrations/alembic.ini revision -m "…"`` (then add the
id to ``store/schema.REVISIONS``). Revisions never import ``store.models``: a revision
describes the schema as it was when written.
"""

from alembic import context

from caseterm.store.engine import make_engine

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        transactional_ddl=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
