"""Generated Graph payloads through the fake Microsoft into the real sync engine: any Unicode, nulls, missing
keys, extra keys, over-long values, wrong types. Nothing crashes; a run either succeeds with only valid rows
or fails with a sentence and changes nothing."""
import uuid

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aadsync.models import SyncRun
from directory.models import Contact
from tests.aadsync.sync.test_engine import snapshot, sync

pytestmark = pytest.mark.django_db

ANY_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children,
                                                                                 max_size=3)),
    max_leaves=6,
)
TEXTISH = st.one_of(st.none(), st.text(max_size=80), st.text(min_size=250, max_size=400), ANY_JSON)
GUIDS = st.uuids().map(str)
USER = st.fixed_dictionaries(
    {"id": st.one_of(GUIDS, GUIDS.map(str.upper), GUIDS, st.none(), st.text(max_size=40), st.integers())},
    optional={
        "userPrincipalName": TEXTISH,
        "givenName": TEXTISH,
        "surname": TEXTISH,
        "mail": TEXTISH,
        "businessPhones": st.one_of(st.lists(TEXTISH, max_size=3), TEXTISH),
        "mobilePhone": TEXTISH,
        "accountEnabled": st.one_of(st.booleans(), ANY_JSON),
        "userType": st.one_of(st.sampled_from(["Member", "Guest"]), ANY_JSON),
        "@odata.type": st.just("#microsoft.graph.user"),
        "extraProperty": ANY_JSON,
    },
)


def _valid_rows(company):
    for contact in Contact.objects.filter(company=company):
        contact.full_clean()
        if contact.synced:
            assert contact.object_id == contact.object_id.lower()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(users=st.lists(USER, max_size=12, unique_by=lambda u: str(u["id"]).lower()))
def test_generated_payloads_never_crash_or_half_write(fake_ms, company, users):
    sid = transaction.savepoint()
    try:
        fake_ms.reset()
        fake_ms.raw_users = True
        setup = fake_ms.configure(company, users=0, include_guests=True)
        setup.tenant.add_users([{**user, "id": user["id"]} for user in users])
        Contact.objects.create(company=company, first_name="Typed", last_name="In")
        before = snapshot(company)

        run = sync(company, full=True)
        event(f"run {run.status}")
        event(f"rows stored: {'some' if run.created else 'none'}")

        assert run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED)
        if run.status == SyncRun.Status.FAILED:
            assert run.error and "Traceback" not in run.error
            assert snapshot(company) == before
        else:
            _valid_rows(company)
            good_ids = {str(u["id"]).lower() for u in users if isinstance(u["id"], str) and _is_guid(u["id"])}
            stored = set(Contact.objects.filter(company=company, synced=True).values_list("object_id", flat=True))
            assert stored <= good_ids  # nothing keyed on a malformed object ID
            assert run.created + run.disabled == len(stored)  # a first run: every stored row is a new one
        assert Contact.objects.filter(company=company, synced=False, first_name="Typed").count() == 1
    finally:
        transaction.savepoint_rollback(sid)


def _is_guid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
