"""The knowledge-base search index (placeholder until the search work lands)."""

from __future__ import annotations

from pathlib import Path


def articles_changed(store_path: Path, numbers: list[str]) -> None:
    """Bring the index beside ``store_path`` in step with these articles (no index yet: nothing to do)."""
    return None
