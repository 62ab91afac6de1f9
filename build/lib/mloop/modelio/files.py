"""Model files: skops by default, pickle only on explicit request, checked on load."""

from __future__ import annotations

import io
import pickle
import warnings
from importlib import metadata
from typing import Any

from mloop.errors import InvalidInput, UnsafeModel

SKOPS = "skops"
PICKLE = "pickle"
FORMATS = (SKOPS, PICKLE)
_TRACKED_LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "skops")


class UnsafeFormatWarning(UserWarning):
    """A model was saved in a format that runs code when it is loaded."""


class LibraryVersionWarning(UserWarning):
    """A model was trained with a different library version than the one running."""


def environment() -> dict[str, str]:
    """The versions of the libraries a model depends on, as installed now."""
    versions = {}
    for name in _TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def dump_model(model: Any, fmt: str = SKOPS) -> bytes:
    """Serialise an estimator to bytes in the chosen format."""
    if fmt == SKOPS:
        import skops.io

        return skops.io.dumps(model)
    if fmt == PICKLE:
        warnings.warn(
            "saving the model with pickle: loading it will run arbitrary code, and mloop "
            "refuses to load it unless unsafe loading is enabled (MLOOP_ALLOW_PICKLE=1)",
            UnsafeFormatWarning,
            stacklevel=3,
        )
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    raise InvalidInput(f"model format {fmt!r} is not one of {FORMATS}")


def _trusted(type_name: str, trusted_prefixes: tuple[str, ...]) -> bool:
    return any(type_name.startswith(prefix) for prefix in trusted_prefixes)


def _untrusted_types(data: bytes, trusted_prefixes: tuple[str, ...]) -> list[str]:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as exc:
        raise UnsafeModel(f"the model file is not a valid skops file: {exc}") from exc
    refused = [name for name in untrusted if not _trusted(name, trusted_prefixes)]
    if refused:
        raise UnsafeModel(
            f"the model file names types outside mloop's trust list: {', '.join(refused)}; "
            f"if you trust them, add them (or their module prefixes) to MLOOP_TRUSTED_TYPES, "
            f"e.g. MLOOP_TRUSTED_TYPES={','.join(refused)}"
        )
    return list(untrusted)


def check_loadable(data: bytes, fmt: str, trusted_prefixes: tuple[str, ...]) -> None:
    """Refuse model bytes that loading would refuse for their types, before anything is stored.

    Raises UnsafeModel naming every type of a skops file outside ``trusted_prefixes`` and how to
    trust them. Pickle files are not checked: loading them is a separate, explicit opt-in.
    """
    if fmt == SKOPS:
        _untrusted_types(data, trusted_prefixes)


def _load_skops(data: bytes, trusted_prefixes: tuple[str, ...]) -> Any:
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    untrusted = _untrusted_types(data, trusted_prefixes)
    try:
        return skops.io.loads(data, trusted=untrusted)
    except UntrustedTypesFoundException as exc:
        raise UnsafeModel(f"the model file needs untrusted types: {exc}") from exc


def load_model_bytes(
    data: bytes,
    fmt: str,
    *,
    trusted_prefixes: tuple[str, ...],
    allow_pickle: bool,
    trained_with: dict[str, str] | None = None,
) -> Any:
    """Rebuild an estimator from verified bytes, refusing untrusted types and unasked pickle."""
    if fmt == SKOPS:
        model = _load_skops(data, trusted_prefixes)
    elif fmt == PICKLE:
        if not allow_pickle:
            raise UnsafeModel(
                "this model was saved with pickle, which runs code on load; "
                "set MLOOP_ALLOW_PICKLE=1 only if you trust where it came from"
            )
        model = pickle.load(io.BytesIO(data))
    else:
        raise UnsafeModel(f"unknown model format {fmt!r}")
    _warn_on_version_drift(trained_with or {})
    return model


def _warn_on_version_drift(trained_with: dict[str, str]) -> None:
    trained = trained_with.get("scikit-learn")
    running = environment().get("scikit-learn")
    if trained and running and trained != running:
        warnings.warn(
            f"the model was trained with scikit-learn {trained} but {running} is running; "
            "predictions may differ",
            LibraryVersionWarning,
            stacklevel=3,
        )
