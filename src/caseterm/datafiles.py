"""Where the shipped demo and seed data (the repository's ``data/`` folder) is found."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from caseterm.errors import StoreError


def data_dir() -> Path:
    """``CASETERM_DATA_DIR``; the source checkout's ``data/`` (editable installs); or the
    copy a wheel installs under ``<prefix>/share/caseterm/data``."""
    candidates = []
    if os.environ.get("CASETERM_DATA_DIR"):
        candidates.append(Path(os.environ["CASETERM_DATA_DIR"]))
    candidates.append(Path(__file__).resolve().parents[2] / "data")
    candidates.append(Path(sys.prefix) / "share" / "caseterm" / "data")
    for candidate in candidates:
        if (candidate / "products.csv").is_file():
            return candidate
    raise StoreError(
        "caseterm's demo data was not found (looked in " + ", ".join(map(str, candidates)) + "); "
        "reinstall caseterm or set CASETERM_DATA_DIR to the data folder"
    )
