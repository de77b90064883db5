"""Settings: defaults, then ``config.toml``, then ``CASETERM_*`` environment variables,
then command-line flags (applied by the faces).

``config.toml`` lives in the platform's config dir (``caseterm config-path`` prints it;
``CASETERM_CONFIG`` points at another file). Example::

    db = "~/cases/caseterm.sqlite"   # the local store (default: platform data dir)
    agent = "jdoe"                   # who you are when no --as is given
    reopen_days = 30                 # how long a resolved case may be reopened
    theme = "caseterm-dark"          # caseterm-dark, caseterm-light, caseterm-high-contrast
    mode = "workstation"             # or "counter" (default for clerks)

    [keymap]                         # binding id = keys (see the help screen, F1)
    "case.note" = "a,ctrl+n"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from caseterm.errors import ValidationError

APP = "caseterm"


def _dirs():
    import platformdirs

    return platformdirs.PlatformDirs(APP, appauthor=False)


def config_path() -> Path:
    override = os.environ.get("CASETERM_CONFIG")
    return Path(override).expanduser() if override else Path(_dirs().user_config_dir) / "config.toml"


def data_dir() -> Path:
    return Path(_dirs().user_data_dir)


def log_path() -> Path:
    return Path(_dirs().user_log_dir) / "caseterm.log"


@dataclass
class Settings:
    db: Path = field(default_factory=lambda: data_dir() / "caseterm.sqlite")
    agent: str = "admin"
    agent_from: str | None = None  # where ``agent`` was set ("config file …", "environment"), if anywhere
    reopen_days: int = 30
    theme: str | None = None
    mode: str | None = None  # "workstation" or "counter"; None: by role (clerks get the counter)
    keymap: dict[str, str] = field(default_factory=dict)
    source: Path | None = None  # the config file read, if any


def load_settings() -> Settings:
    settings = Settings()
    path = config_path()
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"config file {path}", f"is not valid TOML ({exc})") from None
        settings.source = path
        _apply(settings, raw, f"config file {path}")
    env = {key: os.environ[f"CASETERM_{key.upper()}"] for key in ("db", "agent", "reopen_days")
           if os.environ.get(f"CASETERM_{key.upper()}")}
    _apply(settings, env, "environment")
    return settings


def _apply(settings: Settings, raw: dict, where: str) -> None:
    for key, value in raw.items():
        if key == "db":
            settings.db = Path(str(value)).expanduser()
        elif key == "agent":
            settings.agent = str(value).strip()
            settings.agent_from = where
            if not settings.agent:
                raise ValidationError(f"agent in {where}", "must name an agent login (for example jdoe)")
        elif key == "reopen_days":
            try:
                settings.reopen_days = int(value)
            except (TypeError, ValueError):
                raise ValidationError(f"reopen_days in {where}", f"'{value}' is not a whole number of days") from None
            if settings.reopen_days < 0:
                raise ValidationError(f"reopen_days in {where}", "must be 0 or more")
        elif key == "theme":
            settings.theme = str(value).strip() or None
        elif key == "mode":
            settings.mode = str(value).strip().lower() or None
            if settings.mode not in (None, "workstation", "counter"):
                raise ValidationError(f"mode in {where}", f"'{value}' is not workstation or counter")
        elif key == "keymap":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ValidationError(f"keymap in {where}", 'must be a table of binding id = "keys"')
            settings.keymap = {str(k): v for k, v in value.items()}
        # Unknown keys belong to later features or newer versions: ignored, not fatal.


def save_setting(key: str, value: str) -> Path:
    """Set a top-level ``key = "value"`` in config.toml, keeping everything else as written."""
    import json

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    line = f"{key} = {json.dumps(value)}"
    lines = text.splitlines()
    first_table = next((i for i, l in enumerate(lines) if l.lstrip().startswith("[")), len(lines))
    for i, existing in enumerate(lines[:first_table]):
        if existing.split("=")[0].strip() == key:
            lines[i] = line
            break
    else:
        lines.insert(first_table, line)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
