"""The previous release of this repository, checked out beside it, for the tests that
run the code of two releases against one database (tests/e2e/test_previous_release.py).

Every commit of ``main`` is a release (its first-parent history is the sequence of
deploys). While a release's ``release`` process migrates, the previous release still
serves: its code must work on the new schema, and the new code on the rows the old
one writes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Where migrations live: every app's, and the kernel's.
MIGRATION_PATHS = ("apps/*/migrations/*", "foodiefast/migrations/*")
# How far back a migration change still makes its release "the previous one": past
# that, the migration has long been deployed and the release running before HEAD is
# simply its parent.
RECENT_COMMITS = 50


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=check)


def previous_release(repo: Path, *, head: str = "HEAD", recent: int = RECENT_COMMITS) -> str:
    """The commit to run beside ``head``: the newest commit of its first-parent history
    whose migrations differ from ``head``'s (the code that served while ``head``'s
    newest migrations were applied, the expand step's other half), or ``head~1`` when
    no migration changed in the last ``recent`` commits (the release before this one
    has the same schema: its code is still run against the migrated database)."""
    commits = git(repo, "rev-list", "--first-parent", f"--max-count={recent + 1}", head).stdout.split()
    for commit in commits[1:]:
        if git(repo, "diff", "--quiet", commit, head, "--", *MIGRATION_PATHS, check=False).returncode == 1:
            return commit
    if len(commits) < 2:
        raise LookupError(f"{head} has no parent: there is no previous release (a shallow clone?)")
    return commits[1]


def migrations_between(repo: Path, old: str, new: str = "HEAD") -> list[str]:
    """The migration files ``new`` has that ``old`` has not (``apps/x/migrations/0002_y.py``)."""
    diff = git(repo, "diff", "--name-only", "--diff-filter=A", old, new, "--", *MIGRATION_PATHS).stdout
    return [path for path in diff.split() if path.endswith(".py") and not path.endswith("__init__.py")]


def check_out(repo: Path, commit: str, path: Path) -> Path:
    """``commit`` as a detached git worktree at ``path`` (a left-over one, or the
    registration of one whose folder is gone, is replaced)."""
    remove_checkout(repo, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "--detach", "--force", str(path), commit)
    return path


def remove_checkout(repo: Path, path: Path) -> None:
    if path.exists():
        git(repo, "worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)
