"""Model URIs and the naming rules of registered models and aliases, in one place.

``models:/churn/3`` names version 3, ``models:/churn@champion`` the version an alias points to,
and ``runs:/<run id>/<logged name>`` a model as a run logged it, before any registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mloop.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,127}$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_FORMS = "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/NAME"
DEFAULT_ALIAS = "champion"


def model_name(name: object) -> str:
    """``name`` if it is a valid registered model name (letters, digits, '_', '.', '-').

    Raises InvalidInput naming the rule otherwise.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"model name {name!r} must be letters, digits, '_', '.' or '-'", field="model"
        )
    return name


def alias_name(alias: object) -> str:
    """``alias`` if it starts with a letter and holds letters, digits, '_' or '-'.

    Raises InvalidInput otherwise (a number is never an alias, so ``name/3`` stays a version).
    """
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInput(
            f"alias {alias!r} must start with a letter and hold letters, digits, '_', '-'",
            field="alias",
        )
    return alias


def _version(text: str, uri: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"model URI {uri!r}: version must be a positive integer", field="uri")
    return int(text)


@dataclass(frozen=True)
class ModelUri:
    """A parsed model URI: exactly one of ``version``, ``alias`` or ``run_id`` is set.

    For ``runs:/`` URIs ``name`` is the name the run logged the model under.
    """

    name: str
    version: int | None = None
    alias: str | None = None
    run_id: str | None = None

    @classmethod
    def parse(cls, uri: object) -> ModelUri:
        """The URI of ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``runs:/ID/NAME``.

        Raises InvalidInput naming the accepted forms when ``uri`` is none of them.
        """
        if not isinstance(uri, str):
            raise InvalidInput(f"model URI {uri!r} must be one of {_FORMS}", field="uri")
        if uri.startswith("runs:/"):
            run_id, _, logged = uri.removeprefix("runs:/").partition("/")
            if not _RUN_ID.match(run_id) or not logged or "@" in logged:
                raise InvalidInput(f"model URI {uri!r} must be one of {_FORMS}", field="uri")
            return cls(name=logged, run_id=run_id)
        if not uri.startswith("models:/"):
            raise InvalidInput(f"model URI {uri!r} must be one of {_FORMS}", field="uri")
        return cls.parse_target(uri.removeprefix("models:/"), uri=uri, default_alias=None)

    @classmethod
    def parse_target(
        cls, target: str, *, uri: str | None = None, default_alias: str | None = DEFAULT_ALIAS
    ) -> ModelUri:
        """``NAME@ALIAS``, ``NAME/VERSION``, a full ``models:/`` URI, or a bare ``NAME``.

        A bare name means its ``default_alias`` (the champion); with ``default_alias=None`` a
        bare name is refused. Raises InvalidInput for anything else.
        """
        text = target.strip().removeprefix("models:/")
        shown = uri or target
        name, at, alias = text.partition("@")
        name, slash, version = name.partition("/")
        if at and slash:
            raise InvalidInput(f"model URI {shown!r} must be one of {_FORMS}", field="uri")
        if slash:
            return cls(model_name(name), version=_version(version, shown))
        if at or default_alias is not None:
            return cls(model_name(name), alias=alias_name(alias if at else default_alias))
        raise InvalidInput(f"model URI {shown!r} must be one of {_FORMS}", field="uri")

    @classmethod
    def of_version(cls, name: str, version: int) -> ModelUri:
        """The URI of one registered version."""
        return cls(model_name(name), version=int(version))

    @property
    def follows_alias(self) -> bool:
        """Whether the URI names an alias, whose target can move."""
        return self.alias is not None

    @property
    def target(self) -> str | None:
        """``NAME@ALIAS`` or ``NAME/VERSION`` for a registry URI; None for a run's model."""
        if self.run_id is not None:
            return None
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"

    def __str__(self) -> str:
        if self.run_id is not None:
            return f"runs:/{self.run_id}/{self.name}"
        return f"models:/{self.target}"
