"""Fixtures for the directory screens: synced AAD accounts and typed-in entries."""
import pytest

from tests.directory.factories import manual_contact, synced_contact


@pytest.fixture
def make_synced(db):
    return synced_contact


@pytest.fixture
def make_manual(db):
    return manual_contact


@pytest.fixture
def aad_account(company):
    return synced_contact(company, "Minsu", "Kim", email="minsu.kim@vertical.com",
                          upn="minsu.kim@vertical.onmicrosoft.com")


@pytest.fixture
def other_manager(company, make_manager):
    return make_manager(company, login="jane", name="jane", email="jane@vertical.com")
