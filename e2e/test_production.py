"""`make run` (scripts/run.sh) with the production settings, no TLS: the real web server
(gunicorn, whitenoise) and the real process manager (honcho) running the Procfile, on a
fresh data dir with its own Redis and SQLite. In Chromium: sign up, deploy a site, watch
its log; every static file is hashed, cached for ever and loads, and the console has no
error and no CSP violation. As root, every process runs as the `herocool` account.
Ctrl-C stops all of it (issue 11's test; issue 10's finding 1 for the worker's user)."""
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from .steps import sign_up, status_of, watch_deployment

ROOT = Path(__file__).resolve().parent.parent
HASHED_STATIC = re.compile(r"/static/.+\.[0-9a-f]{12}\.(css|js|svg)$")
LEFT_OUT = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PULUMI_CONFIG_PASSPHRASE",
            "PULUMI_BACKEND_URL", "PULUMI_HOME", "HEROCOOL_SITES_ROOT", "HEROCOOL_VMS_ROOT",
            "HEROCOOL_SITES_URL_TEMPLATE", "HEROCOOL_PULUMI_ROOT", "DEBUG")


REDIS_PORTS = {}  # data dir → the port of the Redis run.sh starts for it


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return None


def processes_of(data_dir):
    """pid → (uid, command line) of every process started for this data dir (Redis
    writes its title over its environment, so it is known by its config's port)."""
    redis_title = f"127.0.0.1:{REDIS_PORTS.get(str(data_dir))}"
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            uid = proc.stat().st_uid
        except (OSError, ValueError):
            continue
        if (f"HEROCOOL_DATA_DIR={data_dir}\0".encode() in environ + b"\0"
                or cmdline.startswith("redis-server") and redis_title in cmdline):
            found[int(proc.name)] = (uid, cmdline)
    return found


@pytest.fixture(scope="module")
def launched():
    """scripts/run.sh in a session of its own; yields (base URL, data dir, Popen)."""
    data = Path(tempfile.mkdtemp(prefix="herocool-run-", dir="/tmp")) / "data"
    data.parent.chmod(0o711)  # the herocool account must reach the data dir run.sh makes
    port = free_port()
    REDIS_PORTS[str(data)] = free_port()
    env = {k: v for k, v in os.environ.items() if k not in LEFT_OUT}
    env.update(HEROCOOL_DATA_DIR=str(data), PORT=str(port), WEB_CONCURRENCY="2",
               HEROCOOL_SITES_PORT=str(free_port()),
               HEROCOOL_REDIS_PORT=str(REDIS_PORTS[str(data)]),
               HEROCOOL_PRODUCTION="True", SECURE_SSL_REDIRECT="False",
               SECRET_KEY=secrets.token_urlsafe(50),
               PULUMI_CONFIG_PASSPHRASE=secrets.token_urlsafe(20),
               ALLOWED_HOSTS="localhost,127.0.0.1")
    log = open(data.parent / "run.log", "w")
    proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while answers(f"{base}/login/") != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("run.sh did not serve: " + (data.parent / "run.log").read_text()[-3000:])
        time.sleep(0.5)
    yield base, data, proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in processes_of(data):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while processes_of(data) and time.monotonic() < deadline:
        time.sleep(0.2)  # killed, but writing their last files until they are gone
    shutil.rmtree(data.parent)  # its database, Redis files, state and secrets


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="runs as the herocool account only as root")
def test_every_process_runs_as_the_herocool_account(launched):
    base, data, proc = launched
    herocool = pwd.getpwnam("herocool").pw_uid
    running = processes_of(data)
    kinds = {kind: [uid for uid, cmd in running.values() if kind in cmd]
             for kind in ("rqworker", "gunicorn", "serve_sites", "redis-server", "scheduler")}
    assert all(kinds.values()), running
    assert {uid for uids in kinds.values() for uid in uids} == {herocool}, running
    assert data.stat().st_uid == herocool and data.stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_signup_deploy_and_log_with_hashed_cached_static_files_and_no_console_error(
        launched):
    base, data, proc = launched
    problems, static = [], {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base)
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                             "console.error('CSP violation: ' + e.violatedDirective))")
        page.on("response", lambda r: "/static/" in r.url and static.setdefault(r.url, r))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
        try:
            sign_up(page, "erin")
            page.get_by_role("link", name="New site").click()
            page.fill("#id_name", "prod-e2e")
            page.get_by_label("Paste HTML").check()
            page.fill("#id_html", "<!doctype html><title>P</title><h1>Served</h1>")
            page.get_by_role("button", name="Create and deploy").click()
            seen = watch_deployment(page)
            assert "succeeded" in seen, seen
            expect(status_of(page)).to_have_attribute("data-status", "live")
            checked = {url: (r.status, r.headers.get("cache-control", ""))
                       for url, r in static.items()}
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "production-failed.png", full_page=True)
            raise
        finally:
            browser.close()
    assert problems == []
    assert any(u.endswith(".css") for u in checked) and any(u.endswith(".js") for u in checked)
    for url, (status, cache) in checked.items():
        assert status == 200 and HASHED_STATIC.search(url), url
        assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600, cache
    css = next(u for u in checked if u.endswith(".css"))
    request = urllib.request.Request(css, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Encoding"] == "gzip"
    # collectstatic ran (the Procfile's release): no process says it did not, though
    # whitenoise asks the manifest for names it lacks (`bootstrap.css` for
    # `bootstrap.min.css`) when it starts.
    assert "was not collected" not in (data.parent / "run.log").read_text()


@pytest.mark.slow
def test_debug_is_off_so_a_foreign_host_gets_a_plain_400(launched):
    base, data, proc = launched
    request = urllib.request.Request(f"{base}/login/", headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 400
    assert b"DisallowedHost" not in error.value.read()  # no debug page


@pytest.mark.slow
def test_the_web_processes_share_their_metrics(launched):
    """Every gunicorn worker writes its request latencies where /metrics sums them
    (prometheus_client's multiprocess mode, set up by the config before the app loads);
    otherwise a scrape shows whichever worker answers it."""
    base, data, proc = launched
    for _ in range(20):
        assert answers(f"{base}/login/") == 200
    web = {pid for pid, (uid, cmd) in processes_of(data).items() if "gunicorn" in cmd}
    written = {int(f.stem.rsplit("_", 1)[1]) for f in (data / "metrics").glob("histogram_*.db")}
    assert written and written <= web, (written, web)


@pytest.mark.slow
def test_ctrl_c_stops_every_process(launched):
    base, data, proc = launched
    assert len(processes_of(data)) >= 5
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    proc.wait(60)
    deadline = time.monotonic() + 30
    while processes_of(data) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_of(data) == {}
    assert answers(f"{base}/login/") is None
    # What all of it wrote (Redis's files, the database, state, the site) is private.
    assert (data / "redis" / "appendonlydir").exists() and (data / "sites").exists()
    open_to_others = [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in [data, *data.rglob("*")]
                      if not p.is_symlink() and p.stat().st_mode & 0o077]
    assert open_to_others == []
