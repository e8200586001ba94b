"""Removal rules (aadsync/sync/removals.py): rows a complete listing did not return, found with one anti-join."""
import uuid

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aadsync.sync.removals import Removals, SeenIds, contact_mark_missing_gone
from directory.models import Contact
from tests.directory.factories import synced_contact

pytestmark = pytest.mark.django_db
guids = st.builds(lambda n: str(uuid.UUID(int=n)), st.integers(min_value=0, max_value=2**128 - 1))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(pages=st.lists(st.lists(guids, max_size=30), max_size=6), directory=st.lists(guids, max_size=60, unique=True))
def test_seen_ids_find_exactly_the_rows_not_listed(company, pages, directory):
    with transaction.atomic():
        rows = [synced_contact(company, object_id=object_id) for object_id in directory]
        listed = {object_id for page in pages for object_id in page}
        with SeenIds() as seen:
            for page in pages:
                seen.add(page)
            result = contact_mark_missing_gone(company=company, seen=seen, synced_before=len(rows),
                                               now=timezone.now(), gone_state="removed", allow_removals=True)
        gone = set(Contact.objects.filter(company=company, aad_state="removed").values_list("object_id", flat=True))
        assert gone == {row.object_id for row in rows if row.object_id not in listed}
        assert result == Removals(marked=len(gone))
        transaction.set_rollback(True)


def test_more_than_the_hold_share_is_held_with_a_sentence(company):
    rows = [synced_contact(company) for _ in range(10)]
    with SeenIds() as seen:
        seen.add([row.object_id for row in rows[:7]])  # 3 of 10 missing: over 20 %
        result = contact_mark_missing_gone(company=company, seen=seen, synced_before=10, now=timezone.now(),
                                           gone_state="removed")
    assert (result.marked, result.held) == (0, 3)
    assert "3 of the 10 synced directory entries (30 %) are no longer in Microsoft's listing" in result.notice
    assert not Contact.objects.filter(company=company, aad_state="removed").exists()


def test_another_company_s_rows_are_never_marked(company, other_company):
    mine, theirs = synced_contact(company), synced_contact(other_company)
    with SeenIds() as seen:
        seen.add([mine.object_id])
        contact_mark_missing_gone(company=company, seen=seen, synced_before=1, now=timezone.now(), gone_state="removed")
    theirs.refresh_from_db()
    assert theirs.aad_state == "active"


def test_in_a_scope_of_groups_unlisted_entries_are_out_of_scope_not_removed(company):
    rows = [synced_contact(company) for _ in range(10)]
    with SeenIds() as seen:
        seen.add([row.object_id for row in rows[1:]])
        result = contact_mark_missing_gone(company=company, seen=seen, synced_before=10, now=timezone.now(),
                                           gone_state="out_scope")
    rows[0].refresh_from_db()
    assert result.marked == 1 and (rows[0].aad_state, rows[0].synced) == ("out_scope", True)


def test_a_preview_counts_what_it_would_mark_and_marks_nothing(company):
    rows = [synced_contact(company) for _ in range(10)]
    with SeenIds() as seen:
        seen.add([row.object_id for row in rows[1:]])
        result = contact_mark_missing_gone(company=company, seen=seen, synced_before=10, now=timezone.now(),
                                           gone_state="removed", dry_run=True)
    assert result.marked == 1 and not Contact.objects.filter(company=company, aad_state="removed").exists()
