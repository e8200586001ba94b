"""Name keys: case-, accent- and spacing-insensitive, and only for people with both names."""
import pytest

from directory.matching.keys import name_fold, name_key


@pytest.mark.parametrize("typed, aad", [
    ("Minsu", "MINSU"),
    ("emile", "Émile"),
    ("Muller", "Müller"),
    ("Jose Maria", "  José   María "),
    ("strasse", "Straße"),
    ("Zoe", "Zoe\u0308"),  # a decomposed diaeresis
    ("ﬁona", "Fiona"),  # a compatibility ligature
    ("김민수", "김민수"),
])
def test_names_that_differ_only_in_case_accents_or_spacing_fold_alike(typed, aad):
    assert name_fold(typed) == name_fold(aad)


# "ø" is a letter of its own, not an accented "o": NFKD does not split it, so it stays.
@pytest.mark.parametrize("one, other", [("Kim", "Kin"), ("Ann Marie", "Annmarie"), ("Søren", "Soren")])
def test_different_names_fold_apart(one, other):
    assert name_fold(one) != name_fold(other)


def test_ascii_shortcut_gives_what_the_unicode_road_gives():
    assert name_fold(" Mary-Ann\tO'Brien  ") == "mary-ann o'brien"
    assert name_fold(" Mary-Ann\tO'Brién  ") == "mary-ann o'brien"  # the same text, one accent: the long road


def test_name_key_needs_both_names():
    assert name_key("Minsu", "Kim") == ("minsu", "kim")
    assert name_key("Minsu", "  ") is None
    assert name_key("", "Kim") is None
