"""CSRF protection as a browser meets it."""
import pytest

from .steps import sign_up

# An incomplete form (no name): with a valid token it can only come back with errors,
# so nothing is ever created or queued.
POST_NEW_SITE = """async (withToken) => {
  const headers = {"Content-Type": "application/x-www-form-urlencoded"};
  if (withToken) headers["X-CSRFToken"] = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const r = await fetch("/sites/new/", {method: "POST", headers, credentials: "same-origin",
                                        body: "source=html&html=%3Cp%3Eforged%3C%2Fp%3E"});
  return [r.status, (await r.text()).includes("This field is required")];
}"""


@pytest.mark.slow
def test_post_without_csrf_token_is_refused(page):
    """A logged-in browser's POST without the CSRF token gets 403; with it, the form."""
    sign_up(page, "carol")
    page.goto("/sites/new/")
    assert page.evaluate(POST_NEW_SITE, False) == [403, False]
    assert page.evaluate(POST_NEW_SITE, True) == [200, True]
