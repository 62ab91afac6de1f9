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
``webhook_allow``  array of strings       origins alert webhooks may be posted to
=================  =====================  =========================================
"""

from __future__ import annotations

import getpass
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
}


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
    return text


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
    )


def _token_from_file(path: str | None) -> str | None:
    """The token a token file holds (surrounding whitespace dropped); None without a file."""
    if not path:
        return None
    token = _read_bytes(Path(path)).decode("utf-8", errors="replace").strip()
    if not token:
        raise InvalidInput(f"token file {path} is empty", field="token_file")
    return token
