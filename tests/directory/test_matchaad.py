"""matchaad: the page's proposals as lines for operators; --apply links the strong ones only."""
import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from directory.models import Person
from tests.aadsync.celery_harness import database_url_for_workers

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _match(*args):
    out = io.StringIO()
    call_command("matchaad", "--company", "cm1-vertical", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def proposals(company, make_user, make_synced):
    """One user of each kind: strong (1001), name (1002), ambiguous (1003), none (1004)."""
    people = {
        "strong": make_user(company, login="1001", extension="1001", first_name="Old", last_name="Kim",
                            email="Minsu.Kim@vertical.com"),
        "name": make_user(company, login="1002", extension="1002", first_name="Hana", last_name="Lee", email=""),
        "ambiguous": make_user(company, login="1003", extension="1003", first_name="Jiwoo", last_name="Park",
                               email=""),
        "none": make_user(company, login="1004", extension="1004", email=""),
    }
    make_synced(company, "Minsu", "Kim", email="minsu.kim@vertical.com", upn="minsu@vertical.onmicrosoft.com")
    make_synced(company, "Hana", "Lee", upn="hana@vertical.onmicrosoft.com")
    make_synced(company, "Jiwoo", "Park", upn="jiwoo1@vertical.onmicrosoft.com")
    make_synced(company, "Jiwoo", "Park", upn="jiwoo2@vertical.onmicrosoft.com")
    return people


def test_prints_one_line_per_proposal_and_a_summary(proposals):
    assert _match() == [
        "1001 1001@cm1-vertical -> minsu@vertical.onmicrosoft.com (strong)",
        "1002 1002@cm1-vertical -> hana@vertical.onmicrosoft.com (name)",
        ("1003 1003@cm1-vertical -> jiwoo1@vertical.onmicrosoft.com, jiwoo2@vertical.onmicrosoft.com "
         "(ambiguous: 2 candidates)"),
        ("cm1-vertical: 4 phone users without an AAD account: 1 strong, 1 name, 1 ambiguous, 1 without a proposal. "
         "Nothing was linked; --apply links the 1 strong proposal that no other user shares."),
    ]
    assert not Person.objects.filter(aad_contact__isnull=False).exists()


def test_apply_links_the_strong_proposals_only(proposals):
    lines = _match("--apply")
    assert lines[0] == "linked 1001 1001@cm1-vertical -> minsu@vertical.onmicrosoft.com (strong)"
    assert lines[-1].endswith("Linked 1 of the 1 strong proposal; name, ambiguous and shared proposals are left "
                              "for a manager on User > Link to AAD accounts (/users/match/).")
    strong = Person.objects.get(pk=proposals["strong"].pk)
    assert (strong.aad_contact.user_principal_name, strong.first_name, strong.email) == (
        "minsu@vertical.onmicrosoft.com", "Minsu", "minsu.kim@vertical.com")
    linked = Person.objects.filter(aad_contact__isnull=False).values_list("login", flat=True)
    assert list(linked) == ["1001"]


def test_apply_leaves_an_account_proposed_for_two_users(company, make_user, make_synced):
    make_user(company, login="1001", extension="1001", email="shared@vertical.com")
    make_user(company, login="1002", extension="1002", email="shared@vertical.com")
    make_synced(company, email="shared@vertical.com", upn="shared@vertical.onmicrosoft.com")
    lines = _match("--apply")
    assert "Linked 0 of the 0 strong proposals" in lines[-1]
    assert _match()[0] == ("1001 1001@cm1-vertical -> shared@vertical.onmicrosoft.com (strong, shared with "
                           "1002@cm1-vertical)")
    assert not Person.objects.filter(aad_contact__isnull=False).exists()


def test_many_candidates_are_cut_after_five(company, make_user, make_synced):
    make_user(company, login="1001", extension="1001", first_name="Min", last_name="Kim", email="")
    for n in range(7):
        make_synced(company, "Min", "Kim", upn=f"min{n}@vertical.onmicrosoft.com")
    (line, _summary) = _match()
    assert line.endswith("min4@vertical.onmicrosoft.com, +2 more (ambiguous: 7 candidates)")


def test_apply_reports_a_refusal_and_exits_1(proposals, monkeypatch):
    """The account is linked by someone else between the listing and the link (a race with a manager)."""
    from directory.matching import services as bulk
    from directory.services import person_link_aad

    real = bulk.person_link_aad
    rival = proposals["none"]

    def taken_meanwhile(*, person, contact):
        person_link_aad(person=rival, contact=contact)
        return real(person=person, contact=contact)

    monkeypatch.setattr(bulk, "person_link_aad", taken_meanwhile)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 strong proposal could not be linked"):
        call_command("matchaad", "--company", "cm1-vertical", "--apply", stdout=out)
    assert ("not linked 1001 1001@cm1-vertical: This AAD account is already linked to user 1004@cm1-vertical"
            in out.getvalue())


def test_unknown_company_is_one_line(db):
    with pytest.raises(CommandError, match=r"^No company with slug “nope”\.$"):
        call_command("matchaad", "--company", "nope")


@pytest.mark.django_db(transaction=True)
def test_bad_input_exits_with_status_1_through_manage_py(db):
    env = {"DATABASE_URL": database_url_for_workers(), "PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "1"}
    result = subprocess.run([sys.executable, "manage.py", "matchaad", "--company", "nope"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: No company with slug “nope”."
