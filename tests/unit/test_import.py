"""The package imports without pulling in its heavy dependencies."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
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


def test_all_is_the_public_api_the_readme_lists() -> None:
    import mloop

    text = README.read_text(encoding="utf-8")
    section = text.split("## Public API", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- (.+)$", section, flags=re.M)
    documented = {name for line in listed for name in re.findall(r"`mloop\.(\w+)`", line)}
    assert documented == set(mloop.__all__)
