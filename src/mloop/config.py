"""Settings read from the environment; the defaults give an embedded SQLite store."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = "mloop-data"

# Modules whose types skops may load without asking; extended with MLOOP_TRUSTED_TYPES.
DEFAULT_TRUSTED_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
)


@dataclass(frozen=True)
class Settings:
    """Where mloop keeps its data, who the user is, and what model files it trusts."""

    home: Path
    store_url: str
    artifacts_url: str
    user: str
    allow_pickle: bool = False
    token: str | None = None
    webhook_allow: tuple[str, ...] = ()
    trusted_types: tuple[str, ...] = field(default=DEFAULT_TRUSTED_PREFIXES)


def current_user() -> str:
    """Return MLOOP_USER, or the operating-system user when it is unset."""
    explicit = os.environ.get("MLOOP_USER")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


SETTINGS_VARIABLES = (
    "MLOOP_HOME",
    "MLOOP_STORE_URL",
    "MLOOP_ARTIFACTS_URL",
    "MLOOP_USER",
    "MLOOP_ALLOW_PICKLE",
    "MLOOP_TRUSTED_TYPES",
    "MLOOP_TOKEN",
    "MLOOP_WEBHOOK_ALLOW",
    "LOGNAME",
    "USER",
)


def _listed(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def settings_key() -> tuple[str | None, ...]:
    """What the settings depend on (working directory and variables), to tell when they change."""
    return (os.getcwd(), *(os.environ.get(name) for name in SETTINGS_VARIABLES))


def load_settings() -> Settings:
    """Read the settings from MLOOP_* environment variables."""
    home = Path(os.environ.get("MLOOP_HOME") or DEFAULT_HOME).absolute()
    store_url = os.environ.get("MLOOP_STORE_URL") or f"sqlite:///{home / 'mloop.db'}"
    artifacts_url = os.environ.get("MLOOP_ARTIFACTS_URL") or str(home / "artifacts")
    extra = _listed("MLOOP_TRUSTED_TYPES")
    return Settings(
        home=home,
        store_url=store_url,
        artifacts_url=artifacts_url,
        user=current_user(),
        allow_pickle=_flag("MLOOP_ALLOW_PICKLE"),
        token=os.environ.get("MLOOP_TOKEN") or None,
        webhook_allow=_listed("MLOOP_WEBHOOK_ALLOW"),
        trusted_types=DEFAULT_TRUSTED_PREFIXES + extra,
    )
