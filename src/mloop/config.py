"""One ``Settings`` object: defaults < an optional ``mloop.toml`` < ``MLOOP_*`` variables.

The file is the one ``MLOOP_CONFIG`` names, else ``mloop.toml`` in the working folder when it
exists. Its keys are the variables' names in lower case without ``MLOOP_``; each field is taken
from the environment when its variable is set, else from the file, else from the default.
Relative paths in the file are read from the file's folder; in variables, from the working
folder. A boolean variable takes 1/true/yes/on or 0/false/no/off; anything else is refused:

=================  =====================  =========================================
key                TOML type              meaning
=================  =====================  =========================================
``home``           string                 folder of the default store and artifacts
                                          (relative to the file's folder)
``store_url``      string                 ``sqlite:///...`` or ``postgresql+psycopg://...``
                                          (a relative SQLite path: to the file's folder)
``artifacts_url``  string                 local folder or fsspec URL
                                          (a relative folder: to the file's folder)
``user``           string                 recorded on runs and alias moves
``allow_pickle``   boolean                allow loading models saved with pickle
``token``          string                 bearer token guarding a server's writes
``token_file``     string                 file holding the token (when ``token`` is unset)
``token_reads``    boolean                the token guards an mloop server's reads too
``allowed_hosts``  array of strings       ``Host`` names an mloop server answers (default:
                                          127.0.0.1, localhost, ::1)
``allowed_origins`` array of strings      browser origins allowed to change an mloop server
``trusted_types``  array of strings       extra types or module prefixes skops may load
``webhook_allow``  array of strings       origins webhooks may be posted to
``webhooks``       array of tables        ``[[webhooks]]`` with ``url``, ``secret`` and
                                          ``events`` (names of ``EventKind``; default
                                          all); ``MLOOP_WEBHOOKS`` takes them as JSON
``max_body_bytes`` integer                largest request body (uploads included) an
                                          mloop server reads (default 100 MiB)
``retention_days`` number                 days the prediction log keeps rows (default:
                                          keep them)
=================  =====================  =========================================
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mloop.entities import EventKind
from mloop.errors import InvalidInput

DEFAULT_HOME = "mloop-data"
CONFIG_VARIABLE = "MLOOP_CONFIG"
CONFIG_FILE = "mloop.toml"

# Modules whose types skops may load without asking; extended with MLOOP_TRUSTED_TYPES.
DEFAULT_TRUSTED_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
)

# The Host names an mloop server answers unless told others (DNS rebinding guard).
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
"""The largest request body an mloop server reads unless told otherwise (100 MiB)."""

# The keys of the file and the TOML type each one takes.
FILE_KEYS: dict[str, type] = {
    "home": str,
    "store_url": str,
    "artifacts_url": str,
    "user": str,
    "allow_pickle": bool,
    "token": str,
    "token_file": str,
    "token_reads": bool,
    "allowed_hosts": list,
    "allowed_origins": list,
    "trusted_types": list,
    "webhook_allow": list,
    "webhooks": tuple,
    "max_body_bytes": int,
    "retention_days": float,
}


@dataclass(frozen=True)
class Webhook:
    """A URL the loop's events are POSTed to, signed with ``secret``; ``events`` are the
    ``EventKind`` names it takes (all of them when empty)."""

    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...] = ()

    def wants(self, kind: str) -> bool:
        """Whether this webhook takes events of ``kind``."""
        return not self.events or kind in self.events


@dataclass(frozen=True)
class Settings:
    """Where mloop keeps its data, who the user is, and what model files it trusts."""

    home: Path
    store_url: str
    artifacts_url: str
    user: str
    allow_pickle: bool = False
    token: str | None = field(default=None, repr=False)
    webhook_allow: tuple[str, ...] = ()
    trusted_types: tuple[str, ...] = field(default=DEFAULT_TRUSTED_PREFIXES)
    token_reads: bool = False
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allowed_origins: tuple[str, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retention_days: float | None = None


PATH_KEYS = ("store_url", "artifacts_url", "token_file")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

SETTINGS_VARIABLES = (
    CONFIG_VARIABLE,
    *(f"MLOOP_{key.upper()}" for key in FILE_KEYS),
    "LOGNAME",
    "USER",
)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def config_path() -> Path | None:
    """The settings file in use: ``MLOOP_CONFIG``, else ``./mloop.toml`` if present, else None.

    Raises InvalidInput when ``MLOOP_CONFIG`` names a file that does not exist.
    """
    named = os.environ.get(CONFIG_VARIABLE)
    if named:
        path = Path(named).absolute()
        if not path.is_file():
            raise InvalidInput(f"{CONFIG_VARIABLE}={named}: no such file", field=CONFIG_VARIABLE)
        return path
    local = Path(CONFIG_FILE).absolute()
    return local if local.is_file() else None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"settings file {path}: cannot read it ({exc})", field="config") from exc


def read_config(path: Path) -> dict[str, Any]:
    """The checked keys of a settings file: strings, booleans and tuples of strings by key.

    Raises InvalidInput naming the file (and the key, as ``field``) for an unreadable file,
    invalid TOML, an unknown key or a value of the wrong type.
    """
    try:
        raw = tomllib.loads(_read_bytes(path).decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"settings file {path}: not valid TOML ({exc})", field="config") from exc
    return {key: _checked(path, key, value) for key, value in raw.items()}


def _checked(path: Path, key: str, value: Any) -> Any:
    kind = FILE_KEYS.get(key)
    if kind is None:
        known = ", ".join(FILE_KEYS)
        raise InvalidInput(f"settings file {path}: unknown key {key!r} (known: {known})", field=key)
    if kind is not list and kind is not str and kind is not bool:
        return _typed(key, value, f"settings file {path}: ")
    if kind is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(item.strip() for item in value if item.strip())
    if kind is str and isinstance(value, str) and not value.strip():
        raise InvalidInput(f"settings file {path}: {key!r} must not be empty", field=key)
    if kind is not list and isinstance(value, kind):
        return value
    wanted = {str: "a string", bool: "true or false", list: "an array of strings"}[kind]
    raise InvalidInput(f"settings file {path}: {key!r} must be {wanted}", field=key)


def settings_key() -> tuple[str | None, ...]:
    """What the settings depend on (working folder, variables, the file's content).

    Raises InvalidInput when ``MLOOP_CONFIG`` names a missing or unreadable file.
    """
    path = config_path()
    digest = hashlib.sha256(_read_bytes(path)).hexdigest() if path else None
    return (os.getcwd(), *(os.environ.get(name) for name in SETTINGS_VARIABLES), digest)


class _Sources:
    """Looks a field up in the environment, then in the file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.file = read_config(path) if path else {}

    def get(self, key: str) -> Any:
        from_env = os.environ.get(f"MLOOP_{key.upper()}")
        if from_env:
            return _parsed(key, from_env)
        value = self.file.get(key)
        if key in PATH_KEYS and isinstance(value, str) and self.path is not None:
            return _beside(self.path.parent, value)
        return value

    def home(self) -> Path:
        home = os.environ.get("MLOOP_HOME")
        if home:
            return Path(home).absolute()
        if "home" in self.file and self.path is not None:
            return (self.path.parent / self.file["home"]).absolute()
        return Path(DEFAULT_HOME).absolute()


def _beside(folder: Path, value: str) -> str:
    """A relative SQLite path or local folder of a settings file, made relative to its folder."""
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        relative = value.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            return f"sqlite:///{(folder / relative).absolute()}"
    if "://" not in value and not Path(value).is_absolute():
        return str((folder / value).absolute())
    return value


def _typed(key: str, value: Any, where: str) -> Any:
    """A webhooks list, a positive byte count or a positive number of days, checked."""
    if key == "webhooks":
        return webhooks_from(value, where)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{where}{key!r} must be a positive number", field=key)
    if key == "max_body_bytes":
        if not isinstance(value, int):
            raise InvalidInput(f"{where}{key!r} must be a whole number of bytes", field=key)
        return value
    return float(value)


def webhooks_from(value: Any, where: str = "") -> tuple[Webhook, ...]:
    """Webhooks from a list of tables with ``url``, ``secret`` and optional ``events``.

    Raises InvalidInput (field ``webhooks``) for another shape, a URL that is not http(s),
    an empty secret or an unknown event name.
    """
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInput(f"{where}'webhooks' must be a list of tables", field="webhooks")
    return tuple(_webhook(item, where) for item in value)


def _webhook(item: dict[str, Any], where: str) -> Webhook:
    url, secret, events = item.get("url"), item.get("secret"), item.get("events", [])
    unknown = sorted(set(item) - {"url", "secret", "events"})
    known = [kind.value for kind in EventKind]
    if unknown:
        problem = f"unknown key {unknown[0]!r}"
    elif not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        problem = "needs an http(s) url"
    elif not isinstance(secret, str) or not secret:
        problem = "needs a non-empty secret"
    elif not isinstance(events, list) or not set(events) <= set(known):
        problem = f"events must be some of {known}"
    else:
        return Webhook(url, secret, tuple(events))
    raise InvalidInput(f"{where}webhook {item.get('url')!r}: {problem}", field="webhooks")


def _parsed(key: str, text: str) -> Any:
    if FILE_KEYS[key] is bool:
        flag = text.strip().lower()
        if flag not in TRUE_WORDS | FALSE_WORDS:
            raise InvalidInput(
                f"MLOOP_{key.upper()}={text!r}: use one of 1/true/yes/on or 0/false/no/off",
                field=f"MLOOP_{key.upper()}",
            )
        return flag in TRUE_WORDS
    if FILE_KEYS[key] is list:
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if FILE_KEYS[key] is not str:
        return _typed(key, _json(key, text), f"MLOOP_{key.upper()}: ")
    return text


def _json(key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(
            f"MLOOP_{key.upper()}={text[:40]!r} is not JSON", field=f"MLOOP_{key.upper()}"
        ) from exc


def load_settings() -> Settings:
    """The settings, each field from MLOOP_* variables, else the settings file, else defaults.

    Raises InvalidInput naming the file and key when the settings file is missing (named by
    ``MLOOP_CONFIG``), unreadable, or holds an unknown key or a value of the wrong type.
    """
    sources = _Sources(config_path())
    home = sources.home()
    return Settings(
        home=home,
        store_url=sources.get("store_url") or f"sqlite:///{home / 'mloop.db'}",
        artifacts_url=sources.get("artifacts_url") or str(home / "artifacts"),
        user=sources.get("user") or _os_user(),
        allow_pickle=bool(sources.get("allow_pickle")),
        token=sources.get("token") or _token_from_file(sources.get("token_file")),
        webhook_allow=sources.get("webhook_allow") or (),
        trusted_types=DEFAULT_TRUSTED_PREFIXES + (sources.get("trusted_types") or ()),
        token_reads=bool(sources.get("token_reads")),
        allowed_hosts=sources.get("allowed_hosts") or DEFAULT_ALLOWED_HOSTS,
        allowed_origins=sources.get("allowed_origins") or (),
        webhooks=sources.get("webhooks") or (),
        max_body_bytes=sources.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES,
        retention_days=sources.get("retention_days"),
    )


def _token_from_file(path: str | None) -> str | None:
    """The token a token file holds (surrounding whitespace dropped); None without a file."""
    if not path:
        return None
    token = _read_bytes(Path(path)).decode("utf-8", errors="replace").strip()
    if not token:
        raise InvalidInput(f"token file {path} is empty", field="token_file")
    return token
