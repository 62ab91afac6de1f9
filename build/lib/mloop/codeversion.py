"""The code version of a run: the git commit of the working directory, read without git."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{40}$")


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():
            pointer = candidate.read_text().strip().removeprefix("gitdir:").strip()
            return (folder / pointer).resolve()
    return None


def _packed_ref(git_dir: Path, ref: str) -> str | None:
    packed = git_dir / "packed-refs"
    if not packed.is_file():
        return None
    for line in packed.read_text().splitlines():
        sha, _, name = line.partition(" ")
        if name == ref and _SHA.match(sha):
            return sha
    return None


def git_commit(start: Path | None = None) -> str | None:
    """The commit checked out in the repository holding ``start`` (default: cwd), or None."""
    return _commit_of((start or Path.cwd()).absolute())


@lru_cache(maxsize=64)
def _commit_of(start: Path) -> str | None:
    """Read once per folder and process: a run's code version is the commit it started on."""
    try:
        git_dir = _git_dir(start)
        if git_dir is None:
            return None
        head = (git_dir / "HEAD").read_text().strip()
        if _SHA.match(head):
            return head
        ref = head.removeprefix("ref:").strip()
        loose = git_dir / ref
        if loose.is_file():
            sha = loose.read_text().strip()
            return sha if _SHA.match(sha) else None
        return _packed_ref(git_dir, ref)
    except OSError:
        return None
