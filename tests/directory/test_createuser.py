"""createuser: operators create a phone user under the User page's rules (password from CM_PASSWORD)."""
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from directory.models import Person, Site
from tests.aadsync.celery_harness import database_url_for_workers
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _password(monkeypatch):
    monkeypatch.setenv("CM_PASSWORD", PASSWORD)


def _create(*args):
    out = io.StringIO()
    call_command("createuser", "--company", "cm1-vertical", *args, stdout=out)
    return out.getvalue()


BASIC = ("--extension", "27728", "--first", "Minsu", "--last", "Kim", "--email", "minsu.kim@vertical.com")


def test_creates_a_phone_user_whose_portal_id_defaults_to_the_extension(company):
    out = _create(*BASIC)
    person = Person.objects.get(company=company, login="27728")
    assert out.strip() == "Created user 27728@cm1-vertical (extension 27728, site Main)."
    assert (person.role, person.extension, person.first_name, person.last_name, person.email) == (
        "user", "27728", "Minsu", "Kim", "minsu.kim@vertical.com")
    assert (person.site.name, person.group_member_type, person.package, person.user_type) == (
        "Main", "single", "basic", "normal")
    assert person.aad_contact is None
    assert person.check_password(PASSWORD)


def test_takes_a_portal_id_and_a_site(company):
    Site.objects.create(company=company, name="Busan")
    _create(*BASIC, "--portal-id", "minsu", "--site", "Busan")
    person = Person.objects.get(company=company, login="minsu")
    assert (person.username, person.site.name) == ("minsu@cm1-vertical", "Busan")


@pytest.mark.parametrize("args, line", [
    (("--extension", "27a"), "--extension: Use 2 to 10 digits."),
    (("--email", "nope"), "--email: Enter a valid email address."),
    (("--portal-id", "a b"), "--portal-id: Use 1-40 letters, digits, dots, hyphens or underscores."),
    (("--site", "Nowhere"), "No site named “Nowhere” in cm1-vertical; its sites are: Main."),
])
def test_bad_input_is_one_line_naming_the_option(company, args, line):
    options = dict(zip(BASIC[::2], BASIC[1::2], strict=True))
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    with pytest.raises(CommandError) as error:
        _create(*[part for pair in options.items() for part in pair])
    assert str(error.value) == line
    assert not Person.objects.filter(role="user").exists()


def test_a_taken_extension_names_its_holder(company):
    _create(*BASIC)
    with pytest.raises(CommandError, match=r"^--extension: Extension 27728 is already used by 27728@cm1-vertical\."):
        _create(*BASIC[:1], "27728", *BASIC[2:], "--portal-id", "other")


def test_refuses_a_weak_password_in_the_variable(company, monkeypatch):
    monkeypatch.setenv("CM_PASSWORD", "short")
    with pytest.raises(CommandError, match=r"^CM_PASSWORD: "):  # the wording is the password rules'
        _create(*BASIC)


def test_needs_the_password_variable(company, monkeypatch):
    monkeypatch.delenv("CM_PASSWORD")
    with pytest.raises(CommandError, match="CM_PASSWORD environment variable"):
        _create(*BASIC)


def test_unknown_company(db):
    with pytest.raises(CommandError, match="No company with slug “cm1-vertical”"):
        _create(*BASIC)


@pytest.mark.django_db(transaction=True)
def test_bad_input_exits_with_status_1_and_one_line_through_manage_py(company):
    env = {"DATABASE_URL": database_url_for_workers(), "PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "1",
           "CM_PASSWORD": PASSWORD}
    result = subprocess.run(
        [sys.executable, "manage.py", "createuser", "--company", "cm1-vertical", "--extension", "x1", "--first", "A",
         "--last", "B", "--email", "a@b.com"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: --extension: Use 2 to 10 digits."
