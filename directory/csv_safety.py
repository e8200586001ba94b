"""CSV cells a spreadsheet shows as text: formula-like values get a leading apostrophe (OWASP CSV injection)."""
import re

# A cell starting with one of these is read as a formula (or, for tab and carriage return, may be trimmed into
# one) by Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = frozenset("=+-@\t\r")
# "+" or "-" then only digits, spaces, dots, hyphens and parentheses (at least one digit), then optionally an
# extension ("x 12", "ext. 12", "extension 12", "#12"). Without letters before the extension and without
# "(" after it, such a value cannot name a function or reach another document: a spreadsheet that reads it as
# a formula at most shows a number or an error, so phone numbers are exported as they are.
PHONE = re.compile(r"[+-][0-9 .()-]*[0-9][0-9 .()-]*(?: ?(?:x|ext\.?|extension|#) ?[0-9]+)?", re.IGNORECASE)


def spreadsheet_safe(value: str) -> str:
    """`value`, or `'value` when a spreadsheet would take it for a formula and it is not a phone number."""
    if not value or value[0] not in FORMULA_STARTS:
        return value  # nearly every cell: keep the export's per-cell cost to one look-up
    if value[0] in "+-" and PHONE.fullmatch(value):
        return value
    return "'" + value
