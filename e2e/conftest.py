"""Browser end-to-end fixtures: Debian's headless Chromium driven by Playwright, the
platform on pytest-django's live server, a real `manage.py rqworker` process on the test
database, and a screenshot of every page of a failed test in test-artifacts/."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def context(live_server):
    """A fresh browser context (no cookies). Playwright's sync API keeps an event loop
    running in this thread, so it lives for one test only: Django refuses ORM calls
    while a loop runs, and other tests must not see it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(20_000)
        yield ctx
        browser.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, save a full-page screenshot of every open page."""
    report = yield
    ctx = item.funcargs.get("context") if hasattr(item, "funcargs") else None
    if report.failed and ctx is not None:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, open_page in enumerate(ctx.pages):
            path = ARTIFACTS / f"{item.name}-{report.when}-{i}.png"
            try:
                open_page.screenshot(path=path, full_page=True)
                report.sections.append(("screenshot", str(path)))
            except Exception as exc:  # a closed page must not hide the real failure
                report.sections.append(("screenshot", f"{path}: {exc}"))
    return report


@pytest.fixture
def vms_root(settings, tmp_path):
    """Where this test's local VMs live; any still running at the end (a failed test)
    is stopped. The image cache stays settings.VM_IMAGE_CACHE, shared across runs."""
    from vms.localvm import qemu

    settings.VMS_ROOT = tmp_path / "vms"
    yield settings.VMS_ROOT
    for vm_dir in settings.VMS_ROOT.glob("*"):
        if qemu.is_running(vm_dir):
            qemu.stop(vm_dir, timeout=20)


@pytest.fixture
def worker(live_server, queue, settings, origin, vms_root):
    """A real forking RQ worker (`manage.py rqworker`) on the test database, started
    when the test calls worker.start() and stopped at the end."""
    from django.db import connection

    db = connection.settings_dict
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("a worker process needs the PostgreSQL test database")
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PULUMI_BACKEND_URL": settings.PULUMI_BACKEND_URL,
        "HEROCOOL_SITES_ROOT": str(settings.SITES_ROOT),
        "HEROCOOL_SITES_URL_TEMPLATE": settings.SITES_URL_TEMPLATE,
        "HEROCOOL_VMS_ROOT": str(settings.VMS_ROOT),
        "HEROCOOL_VM_IMAGE_CACHE": str(settings.VM_IMAGE_CACHE),
        "PYTHONPATH": str(settings.BASE_DIR),
    }

    class Worker:
        proc = None

        def start(self):
            self.proc = subprocess.Popen([sys.executable, "manage.py", "rqworker", "default"],
                                         cwd=settings.BASE_DIR, env=env, start_new_session=True)

        def stop(self):
            """Stop it (SIGTERM: it finishes its job first); start() may follow."""
            if self.proc is None:
                return
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                    self.proc.wait(15)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
            self.proc = None

    w = Worker()
    yield w
    w.stop()
