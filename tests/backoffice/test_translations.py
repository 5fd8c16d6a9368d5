"""Every message of the project's own code reads in French, and the API's error
``detail`` follows the request's language while its ``code`` never changes.

The catalog check extracts the messages of the code as it is now (``makemessages``,
on a copy of the checkout, merged with the committed French catalog), so a message
added anywhere later without its translation fails here, as does a fuzzy one or a
committed ``.mo`` that was not compiled again."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

from tests.conftest import Client

ROOT = Path(__file__).resolve().parents[2]
CATALOG = Path("locale/fr/LC_MESSAGES/django.po")
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "staticfiles", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".run", "*.sqlite3"
)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    """The French catalog as ``make messages`` would leave it for the code as it is."""
    copy = tmp_path_factory.mktemp("messages") / "checkout"
    shutil.copytree(ROOT, copy, ignore=NOT_COPIED)
    from django.conf import settings

    previous = settings.LOCALE_PATHS
    settings.LOCALE_PATHS = [str(copy / "locale")]
    try:
        with contextlib.chdir(copy):
            call_command("makemessages", locale=["fr"], verbosity=0)
    finally:
        settings.LOCALE_PATHS = previous
    return polib.pofile(str(copy / CATALOG))


def test_every_message_of_the_code_is_translated_in_french(extracted):
    untranslated = [entry.msgid for entry in extracted.untranslated_entries()]
    fuzzy = [entry.msgid for entry in extracted.fuzzy_entries()]

    assert len(extracted) > 200  # the extraction saw the code
    assert untranslated == [], f"translate in {CATALOG} (`make messages` adds them): {untranslated}"
    assert fuzzy == [], f"check and unmark these fuzzy translations in {CATALOG}: {fuzzy}"


def test_the_committed_catalog_is_the_one_the_code_has(extracted):
    committed = polib.pofile(str(ROOT / CATALOG))
    assert {e.msgid for e in committed} == {e.msgid for e in extracted}, "run `make messages`"


def test_the_compiled_catalog_is_up_to_date(tmp_path):
    """The .mo a git-push build serves holds every translation of the .po."""
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(ROOT / CATALOG)], check=True)
    served = {
        (e.msgid, e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in polib.mofile(str(ROOT / CATALOG.with_suffix(".mo")))
    }
    fresh = {(e.msgid, e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in polib.mofile(str(compiled))}
    assert served == fresh, "run `make messages` (compilemessages) and commit django.mo"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (None, "No active account matches this email and password."),
        ("en-US,en;q=0.9", "No active account matches this email and password."),
        ("fr-FR,fr;q=0.9,en;q=0.8", "Aucun compte actif ne correspond à cet e-mail et ce mot de passe."),
        ("fr", "Aucun compte actif ne correspond à cet e-mail et ce mot de passe."),
        ("de-DE", "No active account matches this email and password."),
    ],
)
def test_an_api_error_detail_follows_accept_language_and_its_code_does_not(language, detail):
    client = Client(**({"HTTP_ACCEPT_LANGUAGE": language} if language else {}))
    response = client.post("/api/v1/auth/token", {"email": "nobody@example.com", "password": "wrong"}, format="json")

    assert response.status_code == 401
    assert response.json() == {"code": "invalid_credentials", "detail": detail}


@pytest.mark.django_db
def test_a_validation_error_is_french_too(api):
    french = Client(HTTP_ACCEPT_LANGUAGE="fr")
    english = api

    body = {"email": "not-an-email", "password": "x", "full_name": "X"}
    fr = french.post("/api/v1/auth/register", body, format="json").json()
    en = english.post("/api/v1/auth/register", body, format="json").json()

    assert fr["code"] == en["code"] == "invalid"
    assert set(fr["fields"]) == set(en["fields"])
    assert fr["detail"] != en["detail"]
    assert "e-mail" in fr["detail"].lower() or "adresse" in fr["detail"].lower()


@pytest.mark.django_db
def test_a_not_found_page_of_the_api_is_french_for_a_french_app():
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/api/v1/chefs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"] == "Introuvable."
