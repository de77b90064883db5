"""The case server (``caseterm serve``): FastAPI over the same tables and services."""
