"""Which AAD accounts the portal proposes for phone users without one, and why."""
import pytest

from directory.matching.selectors import link_proposal_list, link_proposals, linkable_user_count, proposal_counts
from directory.services import person_link_aad
from tests.directory.factories import phone_users

pytestmark = pytest.mark.django_db


def _proposal(company, person):
    return next(p for p in link_proposals(company=company) if p.person_id == person.pk)


def _upns(proposal):
    return [candidate.user_principal_name for candidate in proposal.candidates]


@pytest.fixture
def user(company, make_user):
    return make_user(company, login="27728", extension="27728", first_name="Old", last_name="Name",
                     email="minsu.kim@vertical.com")


def test_strong_when_the_email_is_the_account_mail(company, user, make_synced):
    account = make_synced(company, "Minsu", "Kim", email="minsu.kim@vertical.com", upn="mk@vertical.onmicrosoft.com")
    proposal = _proposal(company, user)
    assert proposal.kind == "strong"
    assert proposal.account.object_id == account.object_id
    assert proposal.account.reason == "mail"
    assert proposal.preticked


def test_strong_when_the_email_is_the_account_upn(company, user, make_synced):
    make_synced(company, "Minsu", "Kim", email="", upn="minsu.kim@vertical.com")
    proposal = _proposal(company, user)
    assert (proposal.kind, proposal.account.reason) == ("strong", "upn")


def test_email_match_ignores_case_and_surrounding_spaces(company, make_user, make_synced):
    person = make_user(company, login="1001", email="  Minsu.KIM@Vertical.com ")
    make_synced(company, "Minsu", "Kim", email="minsu.kim@VERTICAL.COM")
    assert _proposal(company, person).kind == "strong"


def test_name_match_ignores_case_accents_and_spacing(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name="emile  ", last_name="DUBOIS", email="")
    account = make_synced(company, "Émile", " Dubois", email="e.dubois@vertical.com")
    proposal = _proposal(company, person)
    assert proposal.kind == "name"
    assert proposal.account.object_id == account.object_id
    assert not proposal.preticked


def test_name_match_folds_spacing_inside_a_name(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name="Mary Ann", last_name="O'Brien", email="")
    make_synced(company, "Mary   Ann", "O'Brien ")
    assert _proposal(company, person).kind == "name"


def test_an_accented_name_typed_on_the_phone_user_matches_a_plain_account(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name="Émile", last_name="Dubois", email="")
    account = make_synced(company, "EMILE", "DUBOIS")
    assert (_proposal(company, person).kind, _proposal(company, person).account.object_id) == ("name", account.object_id)


def test_name_match_finds_every_stored_spelling_of_a_name(company, make_user, make_synced):
    """The database is asked for the names as stored: each spelling that folds to the user's name is found."""
    person = make_user(company, login="1001", first_name="Jose", last_name="Muller", email="")
    spellings = [make_synced(company, "José", "Müller"), make_synced(company, "JOSE", "MULLER"),
                 make_synced(company, "Jose\u0301", "Mu\u0308ller"),  # decomposed accents
                 make_synced(company, " jose ", "muller")]
    make_synced(company, "José", "Müllers")
    make_synced(company, "Josef", "Müller")
    proposal = _proposal(company, person)
    assert proposal.kind == "ambiguous"
    assert sorted(_upns(proposal)) == sorted(account.user_principal_name for account in spellings)


def test_name_match_folds_ligatures_and_sharp_s(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name="Fiona", last_name="Strasse", email="")
    make_synced(company, "ﬁona", "STRAẞE")
    assert _proposal(company, person).kind == "name"


def test_an_accented_spelling_that_cannot_be_proposed_leaves_the_other_one(company, make_user, make_synced,
                                                                            make_manual):
    person = make_user(company, login="1001", first_name="Emile", last_name="Dubois", email="")
    make_synced(company, "Émile", "Dubois", aad_state="disabled")
    make_manual(company, "Émile", "DUBOIS")
    free = make_synced(company, "EMILE", "dubois")
    proposal = _proposal(company, person)
    assert (proposal.kind, proposal.account.object_id) == ("name", free.object_id)


def test_names_with_quotes_backslashes_and_percent_signs_match(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name='Ann "Annie"', last_name="O'Brien\\Smith 100%", email="")
    make_synced(company, 'ANN "ANNIE"', "o'brien\\smith 100%", email="ann@vertical.com")
    assert _proposal(company, person).kind == "name"


def test_email_match_with_quotes_and_percent_signs(company, make_user, make_synced):
    person = make_user(company, login="1001", email=' "O\'Brien"%1@Vertical.com ')
    make_synced(company, email='"o\'brien"%1@vertical.com')
    assert _proposal(company, person).kind == "strong"


def test_two_accounts_with_the_name_are_ambiguous_and_never_preticked(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name="Minsu", last_name="Kim", email="")
    first = make_synced(company, "Minsu", "Kim")
    second = make_synced(company, "MINSU", "KIM")
    proposal = _proposal(company, person)
    assert proposal.kind == "ambiguous"
    assert sorted(_upns(proposal)) == sorted([first.user_principal_name, second.user_principal_name])
    assert proposal.account is None
    assert not proposal.preticked


def test_an_email_that_is_one_account_mail_and_another_upn_is_ambiguous(company, user, make_synced):
    make_synced(company, "Minsu", "Kim", email="minsu.kim@vertical.com")
    make_synced(company, "Minsu", "Kim", email="other@vertical.com", upn="minsu.kim@vertical.com")
    proposal = _proposal(company, user)
    assert proposal.kind == "ambiguous"
    assert len(proposal.candidates) == 2
    assert not proposal.preticked


def test_an_email_match_wins_over_a_name_match(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name="Minsu", last_name="Kim", email="mk@vertical.com")
    by_mail = make_synced(company, "Someone", "Else", email="mk@vertical.com")
    make_synced(company, "Minsu", "Kim")
    proposal = _proposal(company, person)
    assert (proposal.kind, proposal.account.object_id) == ("strong", by_mail.object_id)


def test_an_account_linked_to_someone_is_never_proposed(company, user, manager, make_synced):
    account = make_synced(company, "Minsu", "Kim", email="minsu.kim@vertical.com")
    person_link_aad(person=manager, contact=account)
    assert _proposal(company, user).kind == "none"


def test_a_linked_account_leaves_the_other_name_match_unambiguous(company, make_user, make_synced):
    person = make_user(company, login="1001", first_name="Minsu", last_name="Kim", email="")
    taken = make_synced(company, "Minsu", "Kim")
    free = make_synced(company, "Minsu", "Kim")
    person_link_aad(person=make_user(company, login="1002", email=""), contact=taken)
    proposal = _proposal(company, person)
    assert (proposal.kind, proposal.account.object_id) == ("name", free.object_id)


@pytest.mark.parametrize("state", ["disabled", "removed"])
def test_an_account_disabled_or_removed_in_aad_is_never_proposed(company, user, make_synced, state):
    make_synced(company, "Old", "Name", email="minsu.kim@vertical.com", aad_state=state)
    assert _proposal(company, user).kind == "none"


def test_a_typed_in_entry_is_never_proposed(company, user, make_manual):
    make_manual(company, "Old", "Name", email="minsu.kim@vertical.com")
    assert _proposal(company, user).kind == "none"


def test_another_company_s_account_is_never_proposed(company, other_company, user, make_synced):
    make_synced(other_company, "Old", "Name", email="minsu.kim@vertical.com")
    assert _proposal(company, user).kind == "none"


def test_another_company_s_users_are_not_listed(company, other_company, make_user, make_synced):
    make_user(other_company, login="1001", email="minsu.kim@vertical.com")
    make_synced(other_company, email="minsu.kim@vertical.com")
    assert link_proposals(company=company) == []


def test_linked_users_and_managers_are_not_listed(company, manager, make_user, make_synced):
    linked = make_user(company, login="1001", email="")
    person_link_aad(person=linked, contact=make_synced(company))
    unlinked = make_user(company, login="1002", email="")
    assert [p.person_id for p in link_proposals(company=company)] == [unlinked.pk]


def test_one_account_proposed_for_two_users_is_not_preticked(company, make_user, make_synced):
    one = make_user(company, login="1001", email="shared@vertical.com")
    two = make_user(company, login="1002", email="Shared@vertical.com")
    make_synced(company, email="shared@vertical.com")
    proposal = _proposal(company, one)
    assert proposal.kind == "strong"
    assert proposal.shared_with == (two.username,)
    assert not proposal.preticked


def test_strong_proposals_come_first_then_name_ambiguous_and_none_by_extension(company, make_user, make_synced):
    make_user(company, login="none", extension="100", email="")
    make_user(company, login="name", extension="200", first_name="Hana", last_name="Lee", email="")
    make_synced(company, "Hana", "Lee")
    make_user(company, login="strong9", extension="9000", email="s9@vertical.com")
    make_user(company, login="strong3", extension="300", email="s3@vertical.com")
    make_synced(company, email="s9@vertical.com")
    make_synced(company, email="s3@vertical.com")
    proposals = link_proposals(company=company)
    assert [p.username.split("@")[0] for p in proposals] == ["strong3", "strong9", "name", "none"]
    assert proposal_counts(proposals) == {"strong": 2, "name": 1, "ambiguous": 0, "none": 1}


def test_queries_do_not_grow_with_users_or_accounts(company, make_synced, django_assert_num_queries):
    def grow(start, count):
        phone_users(company, [{"login": f"u{n}", "extension": str(1000 + n), "first_name": f"First{n}",
                               "last_name": "Same", "email": f"u{n}@vertical.com"}
                              for n in range(start, start + count)])
        for n in range(start, start + count):
            make_synced(company, email=f"u{n}@vertical.com" if n % 2 else "", first_name=f"First{n}",
                        last_name="Same")

    grow(0, 4)
    with django_assert_num_queries(4):
        assert len(link_proposals(company=company)) == 4
    grow(4, 40)
    with django_assert_num_queries(4):
        proposals = link_proposals(company=company)
    assert proposal_counts(proposals) == {"strong": 22, "name": 22, "ambiguous": 0, "none": 0}


def test_linkable_user_count_counts_users_whose_email_is_an_account_s(company, user, make_user, make_synced):
    make_synced(company, email="minsu.kim@vertical.com", upn="minsu.kim@vertical.com")  # mail = UPN: one account
    make_user(company, login="1001", first_name="Hana", last_name="Lee", email="")
    make_synced(company, "Hana", "Lee")  # a name proposal: not counted
    ambiguous = make_user(company, login="1002", email=" Two@vertical.com")
    make_synced(company, email="two@vertical.com")
    make_synced(company, upn="two@vertical.com")
    make_user(company, login="1003", email="gone@vertical.com")
    make_synced(company, email="gone@vertical.com", aad_state="removed")  # never proposed: not counted
    assert _proposal(company, ambiguous).kind == "ambiguous"
    assert linkable_user_count(company=company) == 2


def test_the_lazy_list_is_link_proposals_in_the_same_order_with_counts_and_kinds(company, make_user, make_synced):
    for n, kind in enumerate(["strong", "name", "ambiguous", "none"] * 3):
        person = make_user(company, login=f"u{n}", extension=str(900 - n), first_name=f"F{n}", last_name="L",
                           email=f"u{n}@vertical.com" if kind == "strong" else "")
        if kind == "strong":
            make_synced(company, email=person.email)
        elif kind in ("name", "ambiguous"):
            make_synced(company, f"F{n}", "L")
            if kind == "ambiguous":
                make_synced(company, f"f{n}", "l")
    shared = make_user(company, login="shared", extension="1", email="u0@vertical.com")
    proposals = link_proposals(company=company)
    listed = link_proposal_list(company=company)
    assert list(listed) == proposals
    assert listed[0] == proposals[0] and listed[2:5] == proposals[2:5]
    assert listed.counts == proposal_counts(proposals) == {"strong": 4, "name": 3, "ambiguous": 3, "none": 3}
    assert [p.username for p in listed.of_kind("strong")][:1] == [shared.username]
    assert listed.of_kind("strong")[0].shared_with == (f"u0@{company.slug}",)
    for kind in ("strong", "name", "ambiguous", "none"):
        assert list(listed.of_kind(kind)) == [p for p in proposals if p.kind == kind]
        assert listed.of_kind(kind).counts == listed.counts
