"""A person's whole site lifecycle in a real browser, a real worker doing the work."""
import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS
from .steps import sign_up, status_of, watch_deployment

FIRST = "<!doctype html><title>E2E</title><h1>Hello from the browser test</h1>"
SECOND = "<!doctype html><title>E2E</title><h1>Second edition, deployed again</h1>"


@pytest.mark.slow
def test_site_from_signup_to_deleted(page, context, worker):
    """Sign up, paste HTML, watch it go live, see it served, edit it, delete it: 404."""
    sign_up(page, "erin")
    page.get_by_role("link", name="New site").click()
    page.fill("#id_name", "hello-e2e")
    page.get_by_label("Paste HTML").check()
    page.fill("#id_html", FIRST)
    page.get_by_role("button", name="Create and deploy").click()
    expect(page.get_by_role("alert")).to_contain_text("Deploying hello-e2e")
    expect(status_of(page)).to_have_attribute("data-status", "pending")

    # Nothing has run yet: the worker starts only once the deployment page is watching.
    seen = watch_deployment(page, then=worker.start)
    assert "running" in seen, seen
    expect(status_of(page)).to_have_attribute("data-status", "live")
    page.screenshot(path=ARTIFACTS / "site-detail-live.png", full_page=True)

    url = page.locator("#site-url").get_attribute("href")
    assert url.startswith("http://hello-e2e--erin.localhost:"), url
    with context.expect_page() as opened:
        page.locator("#site-url").click()  # target=_blank: a tab of its own
    site = opened.value
    expect(site.locator("h1")).to_have_text("Hello from the browser test")

    page.get_by_role("link", name="Edit").click()
    page.fill("#id_html", SECOND)
    page.get_by_role("button", name="Deploy the change").click()
    expect(status_of(page)).to_have_attribute("data-status", "updating")
    # Staying on the site's page: it follows its live deployment and shows the result.
    expect(page.locator("#in-progress")).to_be_visible()
    expect(status_of(page)).to_have_attribute("data-status", "live", timeout=120_000)
    site.reload()
    expect(site.locator("h1")).to_have_text("Second edition, deployed again")

    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete hello-e2e").click()
    expect(status_of(page)).to_have_attribute("data-status", "deleting")
    watch_deployment(page)
    expect(status_of(page)).to_have_attribute("data-status", "deleted")
    expect(page.locator("#site-url")).to_have_count(0)
    assert site.goto(url).status == 404
