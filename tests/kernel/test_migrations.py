"""Migrations are backwards compatible: ``release`` migrates while the previous release
still serves, so a migration may not drop, rename or lock what that release uses.

django-migration-linter reads the SQL of every migration of ``apps/`` and of the kernel
(on a fresh test database, with no git history needed); its warnings count as errors,
and the reviewed exceptions live in ``pyproject.toml`` under
``[tool.foodiefast.migration-exceptions]``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_migration_linter import MigrationLinter

pytestmark = pytest.mark.django_db

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
HOW_TO = (
    "A migration the running release cannot live with. Split it into expand and contract steps "
    "as docs/operations.md says ('Schema changes across releases'); a contract step, reviewed, "
    "goes under [tool.foodiefast.migration-exceptions] in pyproject.toml with why it is safe."
)


def reviewed_exceptions() -> dict[str, str]:
    with PYPROJECT.open("rb") as file:
        return tomllib.load(file)["tool"]["foodiefast"]["migration-exceptions"]


class ProjectLinter(MigrationLinter):
    """The linter on the project's own apps, skipping only the reviewed exceptions."""

    def __init__(self, *, exceptions: dict[str, str]) -> None:
        own_apps = [
            config.label
            for config in apps.get_app_configs()
            if config.name.startswith("apps.") or config.name == "foodiefast"
        ]
        super().__init__(include_apps=own_apps, no_cache=True, all_warnings_as_errors=True)
        self.exceptions = exceptions

    def should_ignore_migration(self, app_label, migration_name, *args, **kwargs) -> bool:
        return f"{app_label}.{migration_name}" in self.exceptions or super().should_ignore_migration(
            app_label, migration_name, *args, **kwargs
        )


def test_every_migration_is_backwards_compatible(capsys):
    linter = ProjectLinter(exceptions=reviewed_exceptions())

    linter.lint_all_migrations()
    linter.print_summary()

    report = capsys.readouterr().out
    assert not linter.has_errors, f"{report}\n{HOW_TO}"
    assert linter.nb_valid > 0, report


def test_each_exception_names_a_migration_and_why_it_is_safe():
    on_disk = {f"{app}.{name}" for app, name in MigrationLoader(connection).disk_migrations}
    for migration, reason in reviewed_exceptions().items():
        assert migration in on_disk, f"{migration} is not a migration: remove its exception"
        assert len(reason.split()) >= 5, f"{migration}: say why it is safe"


def test_a_migration_dropping_a_column_is_refused(settings, capsys):
    settings.MIGRATION_MODULES = {"tracking": "tests.kernel.incompatible_migrations"}
    linter = ProjectLinter(exceptions={})

    linter.lint_all_migrations(app_label="tracking")

    report = capsys.readouterr().out
    assert linter.has_errors, report
    assert "(tracking, 0002_drop_note)... ERR" in report
    assert "DROPPING columns" in report


def test_the_failure_points_to_the_procedure():
    operations = (PYPROJECT.parent / "docs" / "operations.md").read_text()
    assert "docs/operations.md" in HOW_TO and "'Schema changes across releases'" in HOW_TO
    assert "\n## Schema changes across releases\n" in operations
