"""Settings: defaults < mloop.toml < MLOOP_* variables, field by field; bad files are named."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from mloop.config import (
    DEFAULT_TRUSTED_PREFIXES,
    Settings,
    config_path,
    load_settings,
    settings_key,
)
from mloop.errors import InvalidInput
from mloop.fluent import default_client

VARIABLES = (
    "MLOOP_CONFIG",
    "MLOOP_HOME",
    "MLOOP_STORE_URL",
    "MLOOP_ARTIFACTS_URL",
    "MLOOP_USER",
    "MLOOP_ALLOW_PICKLE",
    "MLOOP_TOKEN",
    "MLOOP_TRUSTED_TYPES",
    "MLOOP_WEBHOOK_ALLOW",
)

FULL_FILE = """
home = "data"
store_url = "sqlite:////srv/from-file.db"
artifacts_url = "s3://bucket/from-file"
user = "file-user"
allow_pickle = true
token = "file-token"
trusted_types = ["mypkg.models."]
webhook_allow = ["https://hooks.example.com"]
"""


@pytest.fixture(autouse=True)
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No MLOOP_* variable set; the working folder is an empty temporary folder."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_variables(bare: Path) -> None:
    settings = load_settings()
    assert config_path() is None
    assert settings == Settings(
        home=bare / "mloop-data",
        store_url=f"sqlite:///{bare / 'mloop-data' / 'mloop.db'}",
        artifacts_url=str(bare / "mloop-data" / "artifacts"),
        user=getpass.getuser(),
    )


def test_every_key_of_the_working_folder_file_is_read(bare: Path) -> None:
    write(bare / "mloop.toml", FULL_FILE)
    settings = load_settings()
    assert config_path() == bare / "mloop.toml"
    assert settings == Settings(
        home=bare / "data",
        store_url="sqlite:////srv/from-file.db",
        artifacts_url="s3://bucket/from-file",
        user="file-user",
        allow_pickle=True,
        token="file-token",
        webhook_allow=("https://hooks.example.com",),
        trusted_types=(*DEFAULT_TRUSTED_PREFIXES, "mypkg.models."),
    )


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("MLOOP_STORE_URL", "postgresql+psycopg://db/x", "store_url", "postgresql+psycopg://db/x"),
        ("MLOOP_ARTIFACTS_URL", "/var/blobs", "artifacts_url", "/var/blobs"),
        ("MLOOP_USER", "env-user", "user", "env-user"),
        ("MLOOP_ALLOW_PICKLE", "0", "allow_pickle", False),
        ("MLOOP_TOKEN", "env-token", "token", "env-token"),
        ("MLOOP_WEBHOOK_ALLOW", "https://a.example, https://b.example", "webhook_allow",
         ("https://a.example", "https://b.example")),
        ("MLOOP_TRUSTED_TYPES", "other.", "trusted_types", (*DEFAULT_TRUSTED_PREFIXES, "other.")),
    ],
)  # fmt: skip
def test_a_variable_beats_the_file_for_its_field_only(
    bare: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    field: str,
    expected: object,
) -> None:
    write(bare / "mloop.toml", FULL_FILE)
    from_file = load_settings()
    monkeypatch.setenv(variable, value)
    mixed = load_settings()
    assert getattr(mixed, field) == expected
    for other in Settings.__dataclass_fields__:
        if other != field:
            assert getattr(mixed, other) == getattr(from_file, other), other


def test_home_variable_beats_the_file_and_moves_the_default_store(
    bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(bare / "mloop.toml", 'home = "data"\nuser = "file-user"\n')
    assert load_settings().store_url == f"sqlite:///{bare / 'data' / 'mloop.db'}"
    monkeypatch.setenv("MLOOP_HOME", str(bare / "elsewhere"))
    settings = load_settings()
    assert settings.home == bare / "elsewhere"
    assert settings.store_url == f"sqlite:///{bare / 'elsewhere' / 'mloop.db'}"
    assert settings.artifacts_url == str(bare / "elsewhere" / "artifacts")
    assert settings.user == "file-user"


def test_file_home_is_relative_to_the_file(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "project.toml", 'home = "state"\n')
    monkeypatch.setenv("MLOOP_CONFIG", str(config))
    assert load_settings().home == tmp_path / "state"


def test_mloop_config_beats_the_working_folder_file(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(bare / "mloop.toml", 'user = "local"\n')
    named = write(tmp_path / "named.toml", 'user = "named"\n')
    monkeypatch.setenv("MLOOP_CONFIG", str(named))
    assert config_path() == named
    assert load_settings().user == "named"


def test_mloop_config_pointing_nowhere_is_invalid_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "mloop.toml"
    monkeypatch.setenv("MLOOP_CONFIG", str(missing))
    with pytest.raises(InvalidInput, match="MLOOP_CONFIG") as caught:
        load_settings()
    assert str(missing) in str(caught.value)
    assert caught.value.field == "MLOOP_CONFIG"
    with pytest.raises(InvalidInput):
        settings_key()


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('store = "sqlite:///x.db"\n', "store", "unknown key 'store'"),
        ("[mloop]\nuser = 'x'\n", "mloop", "unknown key 'mloop'"),
        ('allow_pickle = "yes"\n', "allow_pickle", "true or false"),
        ("user = 7\n", "user", "must be a string"),
        ("token = true\n", "token", "must be a string"),
        ('trusted_types = "mypkg."\n', "trusted_types", "an array of strings"),
        ("webhook_allow = [1, 2]\n", "webhook_allow", "an array of strings"),
        ("home = { path = 'x' }\n", "home", "must be a string"),
        ("user = \n", "config", "not valid TOML"),
        ('user = "a"\nuser = "b"\n', "config", "not valid TOML"),
    ],
)
def test_bad_file_names_the_file_and_the_key(bare: Path, text: str, key: str, words: str) -> None:
    path = write(bare / "mloop.toml", text)
    with pytest.raises(InvalidInput, match=words) as caught:
        load_settings()
    assert str(path) in str(caught.value)
    assert caught.value.field == key


def test_file_that_is_not_utf8_is_invalid_input(bare: Path) -> None:
    (bare / "mloop.toml").write_bytes(b'user = "\xff\xfe"\n')
    with pytest.raises(InvalidInput, match="not valid TOML") as caught:
        load_settings()
    assert str(bare / "mloop.toml") in str(caught.value)


def test_settings_key_changes_with_the_file_and_its_name(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = settings_key()
    config = write(bare / "mloop.toml", 'user = "a"\n')
    first = settings_key()
    write(config, 'user = "b"\n')
    second = settings_key()
    monkeypatch.setenv("MLOOP_CONFIG", str(write(tmp_path / "other.toml", 'user = "b"\n')))
    assert len({before, first, second, settings_key()}) == 4
    assert settings_key() == settings_key()


def test_fluent_client_follows_a_changed_file(bare: Path) -> None:
    config = write(bare / "mloop.toml", f'store_url = "sqlite:///{bare / "a.db"}"\n')
    assert default_client().store_url == f"sqlite:///{bare / 'a.db'}"
    write(config, f'store_url = "sqlite:///{bare / "b.db"}"\n')
    assert default_client().store_url == f"sqlite:///{bare / 'b.db'}"


def test_relative_paths_in_the_file_are_read_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "mloop.toml").write_text('store_url = "sqlite:///db/m.db"\nartifacts_url = "blobs"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("MLOOP_HOME", raising=False)
    monkeypatch.setenv("MLOOP_CONFIG", str(folder / "mloop.toml"))
    settings = load_settings()
    assert settings.store_url == f"sqlite:///{folder / 'db' / 'm.db'}"
    assert settings.artifacts_url == str(folder / "blobs")


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_a_boolean_variable_that_is_no_boolean_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOOP_ALLOW_PICKLE", value)
    with pytest.raises(InvalidInput, match="MLOOP_ALLOW_PICKLE"):
        load_settings()


def test_an_empty_store_url_in_the_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mloop.toml").write_text('store_url = "  "\n')
    monkeypatch.setenv("MLOOP_CONFIG", str(tmp_path / "mloop.toml"))
    with pytest.raises(InvalidInput, match="store_url"):
        load_settings()


def test_the_token_is_not_shown_when_settings_are_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOOP_TOKEN", "supersecret")
    settings = load_settings()
    assert settings.token == "supersecret"
    assert "supersecret" not in repr(settings)


def test_webhooks_body_limit_and_retention_come_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mloop.toml").write_text(
        'max_body_bytes = 1024\nretention_days = 30\nwebhook_allow = ["https://hooks.example"]\n'
        '[[webhooks]]\nurl = "https://hooks.example/mloop"\nsecret = "pssst-42"\n'
        'events = ["alias.moved", "alert.opened"]\n'
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert (settings.max_body_bytes, settings.retention_days) == (1024, 30.0)
    (hook,) = settings.webhooks
    assert hook.url == "https://hooks.example/mloop"
    assert hook.events == ("alias.moved", "alert.opened")
    assert hook.wants("alias.moved") and not hook.wants("retraining.decided")
    assert hook.secret == "pssst-42" and "pssst" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ('[[webhooks]]\nurl = "ftp://x"\nsecret = "s"\n', "http"),
        ('[[webhooks]]\nurl = "https://x"\n', "secret"),
        ('[[webhooks]]\nurl = "https://x"\nsecret = "s"\nevents = ["nope"]\n', "events"),
        ("max_body_bytes = 0\n", "positive"),
        ("max_body_bytes = 1.5\n", "whole"),
        ('retention_days = "long"\n', "positive"),
    ],
)
def test_bad_webhooks_and_limits_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, wrong: str
) -> None:
    (tmp_path / "mloop.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput, match=wrong):
        load_settings()


def test_webhooks_and_limits_come_from_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOOP_WEBHOOKS", '[{"url": "http://127.0.0.1:9/h", "secret": "k"}]')
    monkeypatch.setenv("MLOOP_MAX_BODY_BYTES", "2048")
    settings = load_settings()
    assert settings.webhooks[0].url == "http://127.0.0.1:9/h" and settings.max_body_bytes == 2048
    monkeypatch.setenv("MLOOP_WEBHOOKS", "not json")
    with pytest.raises(InvalidInput, match="MLOOP_WEBHOOKS"):
        load_settings()
