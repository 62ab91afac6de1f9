"""The package imports without pulling in its heavy dependencies."""

import subprocess
import sys

HEAVY = ("pandas", "sklearn", "sqlalchemy", "skops", "fsspec")


def test_import_mloop_stays_light() -> None:
    code = f"import sys, mloop; print([m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_public_names_resolve() -> None:
    import mloop

    for name in mloop.__all__:
        assert getattr(mloop, name) is not None
