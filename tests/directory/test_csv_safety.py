"""Formula-like cells in the Company Directory CSV (directory/csv_safety.py and the export that uses it)."""
import csv
import io

import pytest

from aadsync.models import SyncRun
from aadsync.sync import sync_company_now
from directory.csv_safety import spreadsheet_safe
from tests.fakems import make_user as graph_user

HEADER = ["first_name", "last_name", "email", "office_phone", "mobile_phone", "user_principal_name", "object_id",
          "sync"]

NEUTRALISED = [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("=1+1", "'=1+1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("+cmd", "'+cmd"),
    ("-2+3", "'-2+3"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
    ("\tTab", "'\tTab"),
    ("\r=1+1", "'\r=1+1"),
    ("-", "'-"),  # no digit: not a phone number
    ("+", "'+"),
    ("--", "'--"),
    ("+x12", "'+x12"),
    ("+1 (425) SUM(A1)", "'+1 (425) SUM(A1)"),
    ("+1 425 555 0100 x12(", "'+1 425 555 0100 x12("),
    ("+1 425 555 0100 x", "'+1 425 555 0100 x"),
    ("+1 425\n=cmd", "'+1 425\n=cmd"),
    ("+82 2 555 0100/1", "'+82 2 555 0100/1"),
    ("+\u0661\u0662\u0663", "'+\u0661\u0662\u0663"),  # Arabic-Indic digits are not in the phone rule
    ("-minus@cm1.example", "'-minus@cm1.example"),
]
UNCHANGED = [
    "",
    "Ada",
    "Kim, \"Min\"",
    "a=b",
    " =1+1",  # a leading space: spreadsheets read it as text
    "'=already text",
    "\u2212" + "5",  # Unicode minus sign, not a formula start
    "+82 2 555 0100",
    "+1 (425) 555-0100",
    "+1.425.555.0100",
    "+82-10-5555-0101",
    "-12",
    "+1 425 555 0100 x123",
    "+1 425 555 0100 ext. 12",
    "+1 425 555 0100 ext12",
    "+1 425 555 0100 Extension 7",
    "+1 425 555 0100 #12",
]


@pytest.mark.parametrize(("value", "expected"), NEUTRALISED)
def test_formula_like_cells_get_a_leading_apostrophe(value, expected):
    assert spreadsheet_safe(value) == expected


@pytest.mark.parametrize("value", UNCHANGED)
def test_text_and_phone_numbers_stay_as_they_are(value):
    assert spreadsheet_safe(value) == value


@pytest.mark.django_db
def test_export_neutralises_formulas_synced_from_aad_and_keeps_phone_numbers(fake_ms, company, manager_client):
    users = [
        graph_user(given_name='=HYPERLINK("http://x")', surname="@SUM(A1)", upn="hyper@cm1.example",
                   mail="hyper@cm1.example", business_phones=["+82 2 555 0100"], mobile_phone="+1 (425) 555-0100"),
        graph_user(given_name="+cmd", surname="-2+3", upn="plus@cm1.example", mail="-minus@cm1.example",
                   business_phones=["+1 425 555 0100 x12"], mobile_phone="-"),
        graph_user(given_name="Ada", surname="Lovelace", upn="ada@cm1.example", mail="ada@cm1.example",
                   business_phones=["+44 20 7946 0000"]),
    ]
    fake_ms.configure(company, users=users)
    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED and run.created == 3

    response = manager_client.get("/directory/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))

    assert rows[0] == HEADER
    by_upn = {row[5]: row[:5] for row in rows[1:]}
    assert by_upn == {
        "hyper@cm1.example": ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "hyper@cm1.example", "+82 2 555 0100",
                              "+1 (425) 555-0100"],
        "plus@cm1.example": ["'+cmd", "'-2+3", "'-minus@cm1.example", "+1 425 555 0100 x12", "'-"],
        "ada@cm1.example": ["Ada", "Lovelace", "ada@cm1.example", "+44 20 7946 0000", ""],
    }
