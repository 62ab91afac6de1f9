"""The code version of a run is read from the git repository around the working directory."""

from __future__ import annotations

from pathlib import Path

from mloop.codeversion import git_commit

SHA = "0123456789abcdef0123456789abcdef01234567"


def _repo(root: Path, head: str) -> Path:
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text(head)
    return git


def test_loose_branch_ref(tmp_path: Path) -> None:
    git = _repo(tmp_path, "ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(SHA + "\n")
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    assert git_commit(nested) == SHA


def test_packed_ref_and_detached_head(tmp_path: Path) -> None:
    git = _repo(tmp_path, "ref: refs/heads/release\n")
    (git / "refs" / "heads").rmdir()
    (git / "packed-refs").write_text(f"# pack-refs\n{SHA} refs/heads/release\n")
    assert git_commit(tmp_path) == SHA
    detached = tmp_path / "detached"
    _repo(detached, SHA[::-1] + "\n")
    assert git_commit(detached) == SHA[::-1]


def test_no_repository_gives_none(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None


def test_worktree_pointer_file(tmp_path: Path) -> None:
    real = _repo(tmp_path / "store", f"{SHA}\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / ".git").write_text(f"gitdir: {real}\n")
    assert git_commit(work) == SHA
