"""Pure parts of the engine: the field map, linked people's values, and the bounded "seen IDs" merge."""
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from aadsync.seen import SeenIds, SpilledInts
from aadsync.sync import MAX_LENGTHS, contact_values_from_graph, normalise_object_id, person_values_from_contact

maybe_text = st.one_of(st.none(), st.text(max_size=300))
graph_users = st.fixed_dictionaries(
    {},
    optional={
        "userPrincipalName": maybe_text,
        "givenName": maybe_text,
        "surname": maybe_text,
        "mail": maybe_text,
        "businessPhones": st.one_of(st.none(), st.lists(st.text(max_size=80), max_size=3)),
        "mobilePhone": maybe_text,
        "accountEnabled": st.one_of(st.none(), st.booleans()),
        "userType": st.one_of(st.none(), st.sampled_from(["Member", "Guest", "guest"])),
    },
)


@given(graph_users)
def test_field_map_always_fits_the_columns_and_never_holds_none_or_nul(user):
    values = contact_values_from_graph(user)
    for name, limit in MAX_LENGTHS.items():
        assert isinstance(values[name], str)
        assert len(values[name]) <= limit
        assert "\x00" not in values[name]
    assert values["synced"] is True and values["removed_reason"] == ""


@given(graph_users)
def test_field_map_state_and_guest_rules(user):
    values = contact_values_from_graph(user)
    assert (values["aad_state"] == "disabled") == (user.get("accountEnabled") is False)
    upn = user.get("userPrincipalName") or ""
    is_guest = (user.get("userType") or "").lower() == "guest" or "#ext#" in upn[:113].lower()
    assert values["is_guest"] == is_guest


def test_field_map_takes_the_first_business_phone_and_turns_null_into_empty():
    values = contact_values_from_graph({"businessPhones": ["1", "2"], "mail": None, "givenName": None})
    assert (values["office_phone"], values["email"], values["first_name"]) == ("1", "", "")
    assert contact_values_from_graph({"businessPhones": []})["office_phone"] == ""


def test_object_ids_are_canonical_guids():
    assert normalise_object_id("6F9619FF-8B86-D011-B42D-00C04FC964FF") == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    for bad in (None, "", "not-a-guid", 42, "6f9619ff8b86d011b42d00c04fc964ff", "6f9619ff-8b86-d011-b42d-00c04fc964ff0"):
        assert normalise_object_id(bad) is None


def test_manager_display_name_is_given_and_surname_cut_to_24():
    values = {"first_name": "Maximilian", "last_name": "Wolfeschlegelsteinhausen", "email": "m@x.example"}
    assert person_values_from_contact("manager", values)["display_name"] == "Maximilian Wolfeschlegel"
    assert "display_name" not in person_values_from_contact("user", values)


def test_empty_aad_values_do_not_erase_a_persons_own():
    assert person_values_from_contact("user", {"first_name": "", "last_name": "Kim", "email": ""}) == {
        "last_name": "Kim"}


guids = st.builds(lambda n: str(uuid.UUID(int=n)), st.integers(min_value=0, max_value=2**128 - 1))


@settings(max_examples=60)
@given(pages=st.lists(st.lists(guids, max_size=40), max_size=8), directory=st.lists(guids, max_size=80))
def test_seen_ids_find_exactly_the_rows_not_listed(pages, directory):
    rows = sorted(set(directory))
    with SeenIds() as seen:
        for page in pages:
            seen.add(page)
        listed = {object_id for page in pages for object_id in page}
        missing = list(seen.missing((pk, object_id) for pk, object_id in enumerate(rows)))
        assert [rows[pk] for pk in missing] == [object_id for object_id in rows if object_id not in listed]
        assert list(seen.sorted()) == sorted(listed)


def test_seen_ids_read_runs_in_small_chunks():
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    with SeenIds() as seen:
        for start in range(0, 1000, 100):
            seen.add(ids[start:start + 100])
        assert seen.count == 1000
        assert list(seen.sorted()) == sorted(ids)


def test_spilled_ints_come_back_in_chunks():
    with SpilledInts(flush_every=7) as spilled:
        for n in range(25):
            spilled.append(n)
        assert [len(chunk) for chunk in spilled.chunks(10)] == [10, 10, 5]
        assert [n for chunk in spilled.chunks(10) for n in chunk] == list(range(25))
