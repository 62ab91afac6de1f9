"""Packages whose public names load on first use, so importing one of their modules stays cheap.

A Dask worker that runs ``mloop.retraining.recipe.fit_candidate`` with the recipe
``mloop.demo:train_churn`` imports two package ``__init__`` modules first; loaded eagerly they
would pull in the client, the store and the whole scenario before the first candidate trains.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names imported on first use.

    ``exports`` maps each public name to the module defining it. The returned ``__getattr__``
    imports that module, caches the value in the package and returns it; it raises
    AttributeError for a name ``exports`` does not hold.
    """
    namespace = vars(importlib.import_module(package))

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
