"""A live site opened from its "Open site" button, and a machine's ssh command copied
with its copy button (read back from the clipboard)."""
import pytest
from playwright.sync_api import expect

from stacks.models import Status
from vms.models import VirtualMachine

from .test_pages import KEY, log_in


@pytest.fixture
def alices_box(alice):
    return VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key=KEY,
        allowed_cidr="203.0.113.7/32", status=Status.LIVE,
        outputs={"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool"})


@pytest.mark.slow
def test_open_site_opens_it_and_copy_buttons_copy(live_site, alices_box, live_server,
                                                  context, page):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page)
    page.goto(live_site.get_absolute_url())
    open_site = page.get_by_role("link", name="Open site")
    expect(open_site).to_have_attribute("href", live_site.website_url)
    assert "//shown--alice.localhost:" in live_site.website_url
    with context.expect_page() as opened:
        open_site.click()
    site = opened.value
    expect(site.locator("body")).to_have_text("one")

    page.get_by_role("button", name="Copy URL").click()
    expect(page.locator("#copy-site-url")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == live_site.website_url

    page.goto(alices_box.get_absolute_url())
    copy = page.locator("#ssh-command-copy")
    copy.click()
    expect(copy).to_contain_text("Copied")
    expect(page.locator("#announcer")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "ssh -p 2222 herocool@127.0.0.1"
    expect(copy).to_contain_text("Copy", timeout=5000)  # and it says so only for a while
    expect(copy).not_to_contain_text("Copied")
