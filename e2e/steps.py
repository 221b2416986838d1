"""What a person does in the browser, shared by the end-to-end tests."""
import json

from playwright.sync_api import expect

# Records in sessionStorage what deployment.js changes in the page: the log's length and
# each status the badge shows. A reload (the script's own, when the deployment ends)
# renders the page anew but keeps these, so they prove the page updated itself live.
RECORD_LIVE_CHANGES = """() => {
  sessionStorage.setItem('live', JSON.stringify({log: 0, statuses: []}));
  const log = document.getElementById('log');
  const status = document.getElementById('deployment-status');
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem('live'));
    const now = status.querySelector('[data-status]').dataset.status;
    if (seen.statuses[seen.statuses.length - 1] !== now) seen.statuses.push(now);
    seen.log = log.textContent.length;
    sessionStorage.setItem('live', JSON.stringify(seen));
  }).observe(document.querySelector('main'), {childList: true, subtree: true, characterData: true});
}"""


def sign_up(page, username, password="e2e-Passw0rd-long"):
    """Fill in the sign-up form; land on the dashboard, logged in."""
    page.goto("/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Your resources")).to_be_visible()
    expect(page.locator("nav")).to_contain_text(username)


def status_of(page):
    """The status badge in the page's heading."""
    return page.locator("h1 [data-status]")


def watch_deployment(page, timeout_s=120, then=None):
    """From a resource page, open its newest deployment, call then() (e.g. start the
    worker), and watch, with no reload by hand, its badge turn succeeded and its log
    grow; then follow the link back to the resource. Returns the statuses seen live."""
    page.locator("#deployments tbody tr").first.get_by_role("link").click()
    log = page.locator("#log")
    expect(log).to_have_attribute("data-active", "true")
    before = len(log.text_content())
    page.evaluate(RECORD_LIVE_CHANGES)
    if then:
        then()
    expect(page.locator("#deployment-status [data-status]")).to_have_attribute(
        "data-status", "succeeded", timeout=timeout_s * 1000)
    expect(log).to_have_attribute("data-active", "false")  # the script's reload is done
    seen = json.loads(page.evaluate("sessionStorage.getItem('live')"))
    assert seen["statuses"][-1:] == ["succeeded"], seen
    assert seen["log"] > before, seen
    page.locator("h1 a").click()  # the resource's name links back to it
    return seen["statuses"]
