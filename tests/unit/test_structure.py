"""Structure rules the architecture depends on, checked on the source itself."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import mloop

SRC = Path(mloop.__file__).parent
MAX_PUBLIC_METHODS = 25


def _modules() -> list[str]:
    names = ["mloop"]
    for info in pkgutil.walk_packages([str(SRC)], prefix="mloop."):
        if ".migrations" not in info.name:
            names.append(info.name)
    return names


def _classes() -> list[type]:
    found: dict[str, type] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if inspect.isclass(value) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    return list(found.values())


def _public_methods(cls: type) -> list[str]:
    return [
        name
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_")
        and (inspect.isfunction(value) or isinstance(value, property))
        and not hasattr(Exception, name)
    ]


def _sources(*, outside: tuple[str, ...]) -> dict[Path, str]:
    return {
        path: path.read_text()
        for path in SRC.rglob("*.py")
        if not any(part in outside for part in path.relative_to(SRC).parts)
    }


def test_no_class_has_more_than_25_public_methods() -> None:
    classes = _classes()
    assert len(classes) > 50
    crowded = {
        f"{c.__module__}.{c.__qualname__}": len(_public_methods(c))
        for c in classes
        if len(_public_methods(c)) > MAX_PUBLIC_METHODS
    }
    assert crowded == {}


def test_only_services_and_the_store_reach_the_store() -> None:
    reach = re.compile(r"(?<!mloop)\.(?:_?store)\.")
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        # the API serves the store protocols to remote stores (``mloop.store.rest``)
        for path, text in _sources(outside=("services", "store", "client.py", "api")).items()
        for number, line in enumerate(text.splitlines(), 1)
        if reach.search(line) and "import" not in line
    ]
    assert offenders == []


def test_model_uris_are_parsed_in_one_place() -> None:
    parser = re.compile(r"re\.compile\(.*(models:|runs:)")
    built = re.compile(r"f\"models:/")
    places = [
        str(path.relative_to(SRC))
        for path, text in _sources(outside=()).items()
        if parser.search(text) or built.search(text)
    ]
    assert places in ([], ["uris.py"])
