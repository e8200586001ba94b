"""The client's address: X-Forwarded-For is believed only from a trusted proxy, and only its right-most part."""
import pytest
from django.test import RequestFactory

from cmportal.client_address import client_address


def _address(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


@pytest.fixture
def proxies(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8", "2001:db8:1::/48"]


def test_without_trusted_proxies_remote_addr_is_the_client(settings):
    settings.TRUSTED_PROXIES = []
    assert _address("127.0.0.1", "203.0.113.7") == "127.0.0.1"


def test_a_trusted_proxy_s_last_hop_is_the_client(proxies):
    assert _address("127.0.0.1", "203.0.113.7") == "203.0.113.7"


def test_the_right_most_untrusted_entry_wins_over_forged_ones(proxies):
    assert _address("127.0.0.1", "6.6.6.6, 203.0.113.7, 10.2.3.4") == "203.0.113.7"


def test_a_sender_that_is_not_a_proxy_is_the_client_whatever_it_says(proxies):
    assert _address("198.51.100.9", "203.0.113.7") == "198.51.100.9"


def test_an_entry_that_is_not_an_address_stops_at_the_proxy(proxies):
    assert _address("127.0.0.1", "203.0.113.7, not-an-ip") == "127.0.0.1"


def test_a_missing_header_leaves_the_proxy(proxies):
    assert _address("127.0.0.1") == "127.0.0.1"


def test_only_proxies_in_the_chain_gives_the_left_most(proxies):
    assert _address("127.0.0.1", "10.9.9.9, 10.1.1.1") == "10.9.9.9"


def test_ipv6_proxies_and_ports_are_understood(proxies):
    assert _address("2001:db8:1::5", "[2001:db8:99::7]:4431") == "2001:db8:99::7"
    assert _address("127.0.0.1", "203.0.113.7:51234") == "203.0.113.7"


def test_an_ipv4_mapped_address_is_the_ipv4_address(proxies):
    assert _address("::ffff:127.0.0.1", "203.0.113.7") == "203.0.113.7"


def test_a_bad_trusted_proxy_fails_the_system_check(settings):
    from directory.checks import check_signin_throttle

    settings.TRUSTED_PROXIES = ["127.0.0.1", "proxy.example.com"]
    assert [error.id for error in check_signin_throttle(None)] == ["directory.E001"]
