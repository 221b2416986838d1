"""Checks the browser tests run on any page: its width, its menu, and axe-core."""
import threading
from pathlib import Path

from django.db import connection

from .conftest import ARTIFACTS

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# axe-core is added to every page by the browser itself (an init script, which the
# page's CSP does not govern): the app never serves it.
SERIOUS_VIOLATIONS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`);
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def with_axe(context):
    context.add_init_script(path=str(AXE))


def outside_the_browser_loop(work):
    """Run ORM work while Playwright's sync API holds this thread's event loop (Django
    refuses the ORM in a thread with a running loop): in a thread of its own."""
    out = {}

    def run():
        try:
            out["value"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def problems_of(page, name, *, logged_in):
    """What is wrong with the page now open: wider than the screen, a menu that does
    not reach Log out, serious or critical accessibility violations. A screenshot of
    each page found wanting goes to test-artifacts/."""
    width = page.viewport_size["width"]
    found = []
    overflow = page.evaluate(OVERFLOW)
    if overflow > 0:
        found.append(f"{name} at {width}px: {overflow}px wider than the screen")
    found += [f"{name} at {width}px: {v}" for v in page.evaluate(SERIOUS_VIOLATIONS)]
    if logged_in:
        found += menu_problems(page, name)
    if found:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"page-{name}-{width}.png", full_page=True)
    return found


def menu_problems(page, name):
    """Log out is visible, inside the screen, and on the dark bar, opening the menu on
    a phone first; the menu closes again."""
    width = page.viewport_size["width"]
    log_out = page.locator("nav").get_by_role("button", name="Log out")
    toggler = page.locator("[data-toggle-nav]")
    opened = False
    if not log_out.is_visible():
        if not toggler.is_visible():
            return [f"{name} at {width}px: Log out hidden and no menu button"]
        toggler.click()
        opened = True
    if not log_out.is_visible():
        return [f"{name} at {width}px: Log out not shown by the menu button"]
    box, bar = log_out.bounding_box(), page.locator("nav.navbar").bounding_box()
    found = []
    if box["x"] < 0 or box["x"] + box["width"] > width:
        found.append(f"{name} at {width}px: Log out outside the screen ({box})")
    if box["y"] + box["height"] > bar["y"] + bar["height"]:
        found.append(f"{name} at {width}px: Log out falls off the navbar")
    if opened:
        toggler.click()
        if log_out.is_visible():
            found.append(f"{name} at {width}px: the menu does not close")
    return found
