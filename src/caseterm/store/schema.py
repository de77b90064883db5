"""The schema revisions this caseterm knows, without importing Alembic.

Opening a store compares its ``alembic_version`` with ``HEAD_REVISION`` using only
``sqlite3``; Alembic is imported just when a store must be created or upgraded.
``tests/store/test_migrations.py`` checks that these match the scripts in
``store/migrations/versions``. Add each new revision id at the end.
"""

REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009")
HEAD_REVISION = REVISIONS[-1]
