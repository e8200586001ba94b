"""AAD wins (directory/linking.py): what a linked person takes from their AAD account, at link time and after look-ups."""
from directory.linking import aad_person_values


def _values(role, first_name="Maximilian", last_name="Wolfeschlegelsteinhausen", email="m@x.example"):
    return aad_person_values(role=role, first_name=first_name, last_name=last_name, email=email)


def test_manager_display_name_is_given_and_surname_cut_to_24():
    assert _values("manager")["display_name"] == "Maximilian Wolfeschlegel"
    assert "display_name" not in _values("user")


def test_empty_aad_values_do_not_erase_a_persons_own():
    assert _values("user", first_name="", last_name="Kim", email="") == {"last_name": "Kim"}
