"""Microsoft's answers as data (aadsync/microsoft/answers.py): pure helpers tested with canned JSON."""
import json
from datetime import UTC, datetime

import pytest

from aadsync.errors import SENTENCES, SyncError, redact
from aadsync.microsoft.answers import RetryPolicy, backoff_delay, check_graph_response, parse_retry_after, token_error
from aadsync.microsoft.tokens import Credentials, TokenSource
from tests.conftest import SECRET


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), ("2.128", 2.128), (" 7 ", 7.0), ("0", 0.0), ("-3", 0.0), ("soon", None), (None, None),
     ("nan", None), ("Thu, 26 Nov 2026 10:00:30 GMT", 30.0)],
)
def test_parse_retry_after_reads_whole_decimal_and_date_forms(header, seconds):
    now = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=10.0)
    assert [backoff_delay(n, policy, lambda: 1.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff_delay(3, policy, lambda: 0.5) == 2.0


@pytest.mark.parametrize(
    ("code", "error", "expected"),
    [(7000215, "invalid_client", "wrong_secret"), (7000222, "invalid_client", "expired_secret"),
     (700016, "unauthorized_client", "unknown_client"), (90002, "invalid_tenant", "unknown_tenant")],
)
def test_token_error_maps_each_aadsts_code_to_its_sentence(code, error, expected):
    result = {"error": error, "error_description": f"AADSTS{code}: something. Trace ID: x", "error_codes": [code]}
    assert token_error(result).code == expected


def test_token_error_reads_the_code_from_the_description_when_codes_are_missing():
    assert token_error({"error": "invalid_client", "error_description": "AADSTS7000222: expired"}).code == (
        "expired_secret")


def test_token_error_for_another_code_names_it_without_the_secret():
    error = token_error({"error": "invalid_request", "error_codes": [50011],
                         "error_description": f"AADSTS50011: Reply address mismatch {SECRET}. Trace ID: abc"},
                        secret=SECRET)
    assert error.code == "token_failed"
    assert "(AADSTS50011: Reply address mismatch [secret].)" in str(error)
    assert SECRET not in str(error) and "Trace ID" not in str(error)


def test_each_sentence_is_distinct():
    assert len(set(SENTENCES.values())) == len(SENTENCES)


def test_check_graph_response_returns_a_page():
    body = json.dumps({"value": [{"id": "x"}], "@odata.nextLink": "https://graph/next"})
    assert check_graph_response(200, body)["value"] == [{"id": "x"}]


@pytest.mark.parametrize("body", [b'{"value": [', b"<html>busy</html>", b'{"no": "value"}', b'[1, 2]', b""])
def test_check_graph_response_refuses_malformed_pages(body):
    with pytest.raises(SyncError) as failed:
        check_graph_response(200, body, page=4)
    assert failed.value.code == "malformed" and "(page 4)" in str(failed.value)


def test_check_graph_response_maps_authorization_denied_to_the_permission_sentence():
    body = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the "
                                                                         "operation.", "innerError": {}}}
    with pytest.raises(SyncError) as failed:
        check_graph_response(403, json.dumps(body))
    assert failed.value.code == "permission_missing"
    assert "User.Read.All" in str(failed.value)


def test_check_graph_response_keeps_other_errors_readable_and_redacted():
    body = {"error": {"code": "Request_BadRequest", "message": f"Bad {SECRET} query"}}
    with pytest.raises(SyncError) as failed:
        check_graph_response(400, json.dumps(body), secret=SECRET)
    assert failed.value.code == "graph_failed"
    assert "HTTP 400, Request_BadRequest: Bad [secret] query" in str(failed.value)


def test_check_graph_response_survives_an_error_body_that_is_not_json():
    with pytest.raises(SyncError) as failed:
        check_graph_response(418, b"teapot")
    assert "HTTP 418, no error code" in str(failed.value)


def test_redact_replaces_every_occurrence():
    assert redact(f"a {SECRET} b {SECRET}", SECRET) == "a [secret] b [secret]"


def test_credentials_never_show_the_secret():
    credentials = Credentials(tenant_id="t", client_id="c", secret=SECRET)
    assert SECRET not in repr(credentials) and SECRET not in str(credentials)
    assert SECRET not in repr(TokenSource(credentials, authority_host="https://127.0.0.1:1"))


