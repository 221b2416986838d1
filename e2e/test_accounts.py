"""Two-factor sign-in in a real browser (issue #18): the QR code shows under the CSP,
a code computed here turns it on, the recovery codes are shown, and signing in again
asks for a code after the password."""
import pytest
from playwright.sync_api import expect

from accounts.tests_twofactor import totp

from .steps import sign_up


@pytest.mark.slow
def test_two_factor_from_the_account_page_to_signing_in_again(page):
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP violation: ' + e.violatedDirective))")
    sign_up(page, "erin", password="e2e-Passw0rd-long")
    page.locator("nav").get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.get_by_role("link", name="Set up").click()
    qr = page.get_by_role("img", name="QR code of your authenticator secret")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("#id_code", totp(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("button", name="Log out").click()

    page.fill("#id_username", "erin")
    page.fill("#id_password", "e2e-Passw0rd-long")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    page.fill("#id_code", totp(secret, 1))  # this step's code was spent on enrolling
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Your resources")).to_be_visible()
    assert problems == []
