"""Themes from ``themes/*.tcss``: each palette file's ``$name: value;`` lines become a
Textual theme named ``caseterm-<file>``; ``themes/app.tcss`` is the shared stylesheet."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from textual.theme import Theme

_VARIABLE = re.compile(r"^\s*\$([a-z-]+)\s*:\s*([^;]+);", re.MULTILINE)
_COLOURS = {"primary", "secondary", "accent", "warning", "error", "success", "foreground", "background",
            "surface", "panel", "boost"}
DEFAULT_THEME = "caseterm-dark"


def themes_dir() -> Path | None:
    candidates = []
    if os.environ.get("CASETERM_THEMES_DIR"):
        candidates.append(Path(os.environ["CASETERM_THEMES_DIR"]))
    candidates.append(Path(__file__).resolve().parents[3] / "themes")
    candidates.append(Path(sys.prefix) / "share" / "caseterm" / "themes")
    return next((c for c in candidates if (c / "dark.tcss").is_file()), None)


def load_themes() -> dict[str, Theme]:
    """``{"caseterm-dark": Theme, …}``; empty if the folder is missing."""
    folder = themes_dir()
    out: dict[str, Theme] = {}
    if folder is None:
        return out
    for path in sorted(folder.glob("*.tcss")):
        values = {name: value.strip() for name, value in _VARIABLE.findall(path.read_text(encoding="utf-8"))}
        if "primary" in values:
            out[f"caseterm-{path.stem}"] = Theme(
                name=f"caseterm-{path.stem}", dark=values.get("dark", "true") == "true",
                **{k: v for k, v in values.items() if k in _COLOURS},
            )
    return out


def stylesheet() -> Path | None:
    folder = themes_dir()
    return folder / "app.tcss" if folder is not None else None
