"""Django's ``makemessages`` for this project: it extracts the messages of the
project's own code and templates only (never the virtualenv, the collected static
files, the tests or the bench), writes file names without line numbers (a moved line
does not change the catalog) and drops messages the code no longer has.
``make messages`` runs it, and ``tests/backoffice/test_translations.py`` runs it on
a copy of the checkout to find messages that are not translated yet."""

from __future__ import annotations

from django.core.management.commands import makemessages

NOT_THE_PROJECTS_CODE = [".venv", "staticfiles", "tests", "bench", "docs", "scripts", "node_modules"]


class Command(makemessages.Command):
    def handle(self, *args, **options):
        options["ignore_patterns"] = [*(options.get("ignore_patterns") or []), *NOT_THE_PROJECTS_CODE]
        options["add_location"] = options.get("add_location") or "file"
        options["no_obsolete"] = True
        return super().handle(*args, **options)
