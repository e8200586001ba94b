"""linkaad: operators link a person to a synced AAD account under the same rules as the forms."""
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from directory.models import Person
from tests.aadsync.celery_harness import database_url_for_workers

pytestmark = pytest.mark.django_db


def _link(*args):
    call_command("linkaad", *args)


def test_links_by_upn(manager, aad_account, capsys):
    _link("--company", "cm1-vertical", "--login", "rich", "--aad", "MINSU.KIM@vertical.onmicrosoft.com")
    assert Person.objects.get(pk=manager.pk).aad_contact == aad_account
    assert "Linked manager rich@cm1-vertical to AAD account Minsu Kim" in capsys.readouterr().out


def test_links_by_object_id(phone_user, aad_account):
    _link("--company", "cm1-vertical", "--login", "27728", "--aad", aad_account.object_id.upper())
    assert Person.objects.get(pk=phone_user.pk).aad_contact == aad_account


def test_unlinks(phone_user, aad_account):
    _link("--company", "cm1-vertical", "--login", "27728", "--aad", aad_account.object_id)
    _link("--company", "cm1-vertical", "--login", "27728", "--unlink")
    assert Person.objects.get(pk=phone_user.pk).aad_contact is None


def test_refuses_an_account_linked_to_someone_else_in_one_line(manager, phone_user, aad_account):
    _link("--company", "cm1-vertical", "--login", "rich", "--aad", aad_account.object_id)
    with pytest.raises(CommandError) as error:
        _link("--company", "cm1-vertical", "--login", "27728", "--aad", aad_account.object_id)
    message = str(error.value)
    assert "already linked to manager rich@cm1-vertical" in message
    assert "\n" not in message


@pytest.mark.parametrize("args, words", [
    (("--company", "nope", "--login", "rich", "--aad", "x"), "No company with slug"),
    (("--company", "cm1-vertical", "--login", "ghost", "--aad", "x"), "No user or manager ghost@cm1-vertical"),
    (("--company", "cm1-vertical", "--login", "rich", "--aad", "nobody@x"), "No account synced from MS AAD"),
])
def test_refuses_unknown_names(manager, args, words):
    with pytest.raises(CommandError, match=words):
        _link(*args)


def test_refuses_an_account_of_another_company(manager, other_company, make_synced):
    foreign = make_synced(other_company)
    with pytest.raises(CommandError, match="No account synced from MS AAD"):
        _link("--company", "cm1-vertical", "--login", "rich", "--aad", foreign.object_id)


def test_refuses_a_disabled_account(manager, make_synced, company):
    disabled = make_synced(company, aad_state="disabled")
    with pytest.raises(CommandError, match="disabled in AAD"):
        _link("--company", "cm1-vertical", "--login", "rich", "--aad", disabled.user_principal_name)


@pytest.mark.django_db(transaction=True)
def test_a_refusal_exits_with_status_1_and_one_line(manager):
    """Through manage.py as operators run it: a fresh process on the test database (on SQLite a file,
    tests/conftest.py)."""
    env = {"DATABASE_URL": database_url_for_workers(), "PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "linkaad", "--company", "cm1-vertical", "--login", "rich", "--aad", "nobody@x"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "No account synced from MS AAD" in result.stderr

