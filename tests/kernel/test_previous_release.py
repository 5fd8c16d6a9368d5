"""Which release runs beside the new one (tests/releases.py), on throwaway git
repositories: the newest commit whose migrations differ from HEAD's, else HEAD's parent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.releases import git, migrations_between, previous_release


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        git(path, "init", "--quiet", "--initial-branch=main")
        git(path, "config", "user.email", "dev@foodiefast.example")
        git(path, "config", "user.name", "Dev")

    def commit(self, message: str, *paths: str) -> str:
        """A commit writing ``message`` into each of ``paths``."""
        for path in paths:
            target = self.path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(message)
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Repo:
    return Repo(tmp_path)


def test_the_commit_before_the_newest_migration_is_the_previous_release(repo):
    repo.commit("orders", "apps/orders/migrations/0001_initial.py", "apps/orders/models.py")
    before = repo.commit("code only", "apps/orders/models.py")
    repo.commit("add a column", "apps/orders/migrations/0002_note.py", "apps/orders/models.py")
    repo.commit("code after", "apps/orders/views.py")
    repo.commit("docs", "README")

    assert previous_release(repo.path) == before
    assert migrations_between(repo.path, before) == ["apps/orders/migrations/0002_note.py"]


def test_a_kernel_migration_counts_too(repo):
    repo.commit("start", "apps/orders/migrations/0001_initial.py")
    before = repo.commit("code", "foodiefast/mail.py")
    repo.commit("mail table", "foodiefast/migrations/0002_mail.py")

    assert previous_release(repo.path) == before


def test_a_migration_changed_on_a_merged_branch_counts_at_its_merge(repo):
    repo.commit("start", "apps/orders/migrations/0001_initial.py")
    git(repo.path, "switch", "--quiet", "-c", "feature")
    repo.commit("feature migration", "apps/menus/migrations/0001_initial.py")
    git(repo.path, "switch", "--quiet", "main")
    before = repo.commit("meanwhile on main", "apps/orders/models.py")
    git(repo.path, "merge", "--quiet", "--no-ff", "-m", "merge feature", "feature")
    repo.commit("after the merge", "apps/orders/models.py")

    # main's releases are its first parents: the feature's own commits never ran
    assert previous_release(repo.path) == before


def test_without_a_recent_migration_the_parent_is_the_previous_release(repo):
    repo.commit("start", "apps/orders/migrations/0001_initial.py")
    for version in range(4):
        parent = repo.commit(f"code {version}", "apps/orders/models.py")
    repo.commit("last", "apps/orders/views.py")

    assert previous_release(repo.path, recent=3) == parent
    assert migrations_between(repo.path, parent) == []


def test_a_migration_older_than_the_window_falls_back_to_the_parent(repo):
    repo.commit("start", "apps/orders/migrations/0001_initial.py")
    repo.commit("old migration", "apps/orders/migrations/0002_note.py")
    for version in range(3):
        parent = repo.commit(f"code {version}", "apps/orders/models.py")
    repo.commit("last", "apps/orders/views.py")

    assert previous_release(repo.path, recent=3) == parent
    assert previous_release(repo.path, recent=10) != parent


def test_a_single_commit_has_no_previous_release(repo):
    repo.commit("start", "apps/orders/migrations/0001_initial.py")

    with pytest.raises(LookupError):
        previous_release(repo.path)
