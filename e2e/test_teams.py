"""Teams in a real browser (issue #18): a team admin invites a deployer and a viewer by
email (the links taken from the messages a real SMTP server on loopback received); the
deployer creates a site for the team and a real worker deploys it; the viewer sees it,
has no button to change or delete it, and a forged POST is refused with a 403."""
import re

import pytest
from playwright.sync_api import expect

from stacks.tests.webhook_receiver import smtp_server  # noqa: F401 - fixture

from .steps import sign_up, status_of, watch_deployment

PAGE = "<!doctype html><title>Team</title><h1>Deployed by the team</h1>"


def link(message, path):
    found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\S*)", message.get_payload())
    assert found, message.get_payload()
    return found.group(1)


def mail_to(received, address):
    return [m for to, m in received if to == [address]][-1]


def log_out(page):
    page.get_by_role("button", name="Log out").click()


def join(page, received, username, path):
    """Sign up, confirm the address from the mailed link, accept the invitation."""
    sign_up(page, username)
    page.goto(link(mail_to(received, f"{username}@example.com"), "/account/email/verify/"))
    expect(page.get_by_role("alert").first).to_contain_text("is confirmed")
    page.goto(path)
    page.get_by_role("button", name="Join Web team").click()
    expect(page.get_by_role("heading", name="Web team")).to_be_visible()


@pytest.mark.slow
def test_an_admin_invites_a_deployer_who_deploys_and_a_viewer_who_cannot_change(
        page, worker, smtp_server, live_server, settings):
    settings.HEROCOOL_BASE_URL = live_server.url
    sign_up(page, "ada")
    page.locator("nav").get_by_role("link", name="Teams").click()
    page.fill("#id_name", "Web team")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator("#my-role")).to_have_text("admin")
    invitations = {}
    for who, role in (("dave", "deployer"), ("vic", "viewer")):
        page.fill("#id_email", f"{who}@example.com")
        page.select_option("#id_role", role)
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator("#invitations")).to_contain_text(f"{who}@example.com as {role}")
        invitations[who] = link(mail_to(smtp_server, f"{who}@example.com"), "/teams/join/")
    log_out(page)

    join(page, smtp_server, "dave", invitations["dave"])
    page.goto("/sites/new/")
    page.select_option("#id_team", label="Web team")
    page.fill("#id_name", "team-site")
    page.get_by_label("Paste HTML").check()
    page.fill("#id_html", PAGE)
    page.get_by_role("button", name="Create and deploy").click()
    watch_deployment(page, then=worker.start)
    expect(status_of(page)).to_have_attribute("data-status", "live")
    site_url = page.url
    log_out(page)

    join(page, smtp_server, "vic", invitations["vic"])
    page.goto(site_url)
    expect(status_of(page)).to_have_attribute("data-status", "live")
    expect(page.locator("#resource-actions")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    forged = page.evaluate("""async url => {
        const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
        const body = new URLSearchParams({csrfmiddlewaretoken: token});
        const response = await fetch(url, {method: 'POST', body});
        return [response.status, await response.text()];
    }""", site_url + "delete/")
    assert forged[0] == 403 and "does not let you delete team-site" in forged[1], forged[0]
    page.reload()
    expect(status_of(page)).to_have_attribute("data-status", "live")
