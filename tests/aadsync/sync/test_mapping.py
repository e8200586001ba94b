"""The field map (aadsync/sync/mapping.py): Graph users into directory rows, pure."""

from hypothesis import given
from hypothesis import strategies as st

from aadsync.sync.mapping import (
    MAX_LENGTHS,
    ContactRow,
    contact_row_from_graph,
    contact_row_merge,
    contact_values_from_graph,
    normalise_object_id,
)

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


def test_merge_keeps_properties_a_minimal_change_does_not_carry():
    current = contact_row_from_graph({"userPrincipalName": "a@x", "givenName": "Ann", "surname": "Lee", "mail": "a@x",
                                      "userType": "Member", "accountEnabled": True})
    merged = contact_row_merge(current, {"mobilePhone": "+1 555"})
    assert merged == current._replace(mobile_phone="+1 555")


def test_merge_restores_a_removed_account_that_is_listed_again():
    current = ContactRow("a@x", "Ann", "Lee", "a@x", "", "", False, "removed", "deleted", True)
    merged = contact_row_merge(current, {"givenName": "Anne"})
    assert (merged.first_name, merged.aad_state, merged.removed_reason) == ("Anne", "active", "")
