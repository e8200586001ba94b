"""The MS AAD page in chromium: Test connection and its answer, the secret's expiry in words and colour (amber from
30 days, red from 7 and once expired, with enough contrast), and a pasted secret that survives another field's error."""
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from aadsync import crypto
from aadsync.models import AadSettings
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.fakems.model import APPLICATION_READ_ALL, USER_READ_ALL

NEW_SECRET = "new8Q~pasted-in-the-browser-never-shown"


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1: rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(page, selector: str) -> float:
    colours = page.eval_on_selector(selector, "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    light, dark = sorted((_luminance(colours[0]), _luminance(colours[1])), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_test_connection_and_the_expiry_in_words_and_colour(page, login_as, manager, company, fake_ms):
    setup = fake_ms.configure(company, secret_expires_in=20 * 86400 + 3600,
                              permissions=(USER_READ_ALL, APPLICATION_READ_ALL))
    login_as(manager, PASSWORD)
    expect(page.get_by_test_id("expiry-text")).to_have_text("Unknown")  # saved directly: never read yet
    page.get_by_role("button", name="Test connection").click()
    page.wait_for_url("**/aad/")
    expect(page.locator("[role=status]")).to_contain_text(
        "Connected: Microsoft issued a token and the app can read users.")
    expiry = page.get_by_test_id("expiry-text")
    expect(expiry).to_have_attribute("data-level", "soon")
    expect(expiry).to_contain_text("Secret expires on")
    badge = page.get_by_test_id("expiry-badge")
    expect(badge).to_have_text("Expires soon")
    assert "text-bg-warning" in badge.get_attribute("class")
    assert _contrast(page, "[data-testid=expiry-badge]") >= 4.5  # WCAG AA for normal text
    screenshot(page, "ms-aad-expiry-soon")

    for days, level, words in ((5, "urgent", "Expires very soon"), (-2, "expired", "Expired")):
        AadSettings.objects.filter(company=company).update(secret_expires_at=timezone.now() + timedelta(days=days))
        page.reload()
        expect(page.get_by_test_id("expiry-text")).to_have_attribute("data-level", level)
        expect(page.get_by_test_id("expiry-badge")).to_have_text(words)
        assert "text-bg-danger" in page.get_by_test_id("expiry-badge").get_attribute("class")
        assert _contrast(page, "[data-testid=expiry-badge]") >= 4.5
    screenshot(page, "ms-aad-expired")

    setup.app.secrets[0].value = "replaced-in-azure"  # someone rotated the secret in Azure
    page.get_by_role("button", name="Test connection").click()
    page.wait_for_url("**/aad/")
    expect(page.locator("[role=status]")).to_contain_text("Test connection failed: Microsoft rejected the Secret Code")


def test_a_pasted_secret_survives_another_fields_error(page, login_as, manager, company, fake_ms):
    setup = fake_ms.configure(company)
    setup.app.add_secret(NEW_SECRET)
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="Modify").click()
    page.wait_for_url("**/aad/?mode=edit")
    page.fill("#id_secret", NEW_SECRET)
    page.fill("#id_client_id", "not-a-guid")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("kept-secret")).to_contain_text(
        "The secret you pasted is kept for this form; it is not saved yet.")
    assert page.input_value("#id_secret") == ""
    page.fill("#id_client_id", setup.app.client_id)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/aad/")
    expect(page.locator("[role=status]")).to_contain_text("Secret Code")
    assert crypto.decrypt(AadSettings.objects.get(company=company).secret_encrypted) == NEW_SECRET
    for html in page.seen_html:
        assert NEW_SECRET not in html


def test_unreachable_microsoft_offers_save_without_checking(page, login_as, manager, company, fake_ms, settings):
    fake_ms.configure(company, use_lookup=False)
    settings.AAD_AUTHORITY_HOST = fake_ms.closed_url()
    login_as(manager, PASSWORD)
    page.get_by_role("link", name="Modify").click()
    page.wait_for_url("**/aad/?mode=edit")
    page.get_by_label("Use", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("form-error")).to_contain_text("Microsoft could not confirm these settings right now.")
    page.get_by_role("button", name="Save without checking").click()
    page.wait_for_url("**/aad/")
    expect(page.locator("[role=status]")).to_contain_text("saved without checking", ignore_case=True)
    expect(page.get_by_test_id("change-note").first).to_contain_text("Saved without checking")
    assert AadSettings.objects.get(company=company).use_lookup
