"""Phase 5: simulated users (threads, http.client) against the web tier on 127.0.0.1,
bounded in time and in cycles: first the single-process server (bench/server.py), then
the production one (gunicorn as the Procfile runs it), in the same run, each with users
of its own."""
import multiprocessing
import re
import socket
import threading
import time
from http import cookies as http_cookies
from http.client import HTTPConnection
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from bench import cpu
from bench.common import (BASE, BENCH, PAGE_HTML, child_env, free_port, log, ms, pct,
                          spawn_guarded, stop_process, wait_until)
from bench.data import (add_resources, empty_queue, host_standing_by, numbered_users,
                        queued_jobs)
from bench.pages import logged_in
from sites.models import Site

CSRF_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
KINDS = ("dashboard", "site list", "create form", "create POST", "site detail")
MAX_CYCLES = 100_000


class Browser:
    """One simulated user: its own cookies, one connection per request (the server
    speaks HTTP/1.0 and closes after each response)."""

    def __init__(self, port, session_cookie):
        self.port = port
        self.cookies = {settings.SESSION_COOKIE_NAME: session_cookie}

    def headers(self, body):
        headers = {"Host": f"127.0.0.1:{self.port}", "User-Agent": "herocool-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        return headers

    def keep_cookies(self, response):
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = http_cookies.SimpleCookie()
            jar.load(header)
            for key, morsel in jar.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def request(self, method, path, body=None):
        conn = HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, headers=self.headers(body),
                         body=None if body is None else urlencode(body).encode())
            response = conn.getresponse()
            content = response.read()
            self.keep_cookies(response)
            return response.status, response.getheader("Location"), content
        finally:
            conn.close()


class Recorder:
    """Every request's (kind, seconds, ok), and the first errors, from all threads."""

    def __init__(self):
        self.samples, self.errors, self.lock = [], [], threading.Lock()

    def step(self, browser, kind, method, path, expect, body=None):
        t0 = time.perf_counter()
        try:
            status, location, content = browser.request(method, path, body)
            ok = status == expect
        except Exception as exc:  # noqa: BLE001 - counted as an error, with its reason
            status, location, content, ok = repr(exc), None, b"", False
        elapsed = time.perf_counter() - t0
        with self.lock:
            self.samples.append((kind, elapsed, ok))
            if not ok and len(self.errors) < 20:
                self.errors.append(f"{kind} {path}: {status}")
        return ok, location, content


def load_user(port, cookie, deadline, index, rec):
    """Dashboard, site list, create form, POST create, the new site's page; again."""
    browser = Browser(port, cookie)
    for cycle in range(MAX_CYCLES):
        if time.monotonic() >= deadline:
            break
        rec.step(browser, "dashboard", "GET", "/", 200)
        rec.step(browser, "site list", "GET", "/sites/", 200)
        ok, _, form = rec.step(browser, "create form", "GET", "/sites/new/", 200)
        match = CSRF_RE.search(form) if ok else None
        if not match:
            continue
        ok, location, _ = rec.step(browser, "create POST", "POST", "/sites/new/", 302, {
            "csrfmiddlewaretoken": match.group(1).decode(), "name": f"load-{index}-{cycle}",
            "source": "html", "html": PAGE_HTML})
        if ok and location:
            rec.step(browser, "site detail", "GET", urlsplit(location).path, 200)


def session_cookies(count, prefix="load"):
    """Users with 5 sites and 2 VMs each (a realistic start), logged in."""
    cookies = []
    for user in numbered_users(prefix, count):
        add_resources(user, 5, 2)
        cookies.append(logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value)
    return cookies


def server_command(kind, port, threads):
    """bench/server.py (one process, a pool of threads), or gunicorn as the Procfile's
    `web` runs it (gthread: WEB_CONCURRENCY processes, default one per CPU, × WEB_THREADS)."""
    if kind == "single":
        return [str(BENCH / "server.py"), "--port", str(port), "--threads", str(threads)]
    return [str(BASE / ".venv" / "bin" / "gunicorn"), "-c",
            str(BASE / "herocool_project" / "gunicorn.py"), "--access-logfile", "/dev/null",
            "herocool_project.wsgi"]


def start_server(run_dir, port, threads, kind="single"):
    env = child_env(HEROCOOL_QUOTA_SITES="1000000", HEROCOOL_QUOTA_LIVE_DEPLOYMENTS="1000000",
                    HEROCOOL_RATE_CHANGES="1000000/60", PORT=str(port))
    server = spawn_guarded(server_command(kind, port, threads),
                           run_dir / f"server-{kind}.log", env)

    def listening():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_until(listening, 60, 0.1, "the web server")
    except TimeoutError:
        stop_process(server)
        raise
    return server


GENERATOR_PROCESSES = 5  # the users' threads spread over this many processes


def _users_process(port, cookies, first_index, deadline, out):
    """One load-generator process: a thread per user; sends back its samples."""
    rec = Recorder()
    pool = [threading.Thread(target=load_user, args=(port, cookie, deadline,
                                                     first_index + i, rec), daemon=True)
            for i, cookie in enumerate(cookies)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(deadline - time.monotonic() + 120)
    out.send((rec.samples, rec.errors))
    out.close()


def drive(port, cookies, seconds, processes=GENERATOR_PROCESSES):
    """All users at once until `seconds` have passed; returns (recorder, elapsed, cpu).

    The users run in several processes (forked, threads in each), so that the load
    generator's own GIL does not queue responses and count that wait as the server's
    latency; cpu: the seconds of CPU the server, PostgreSQL and the generator used."""
    Browser(port, cookies[0]).request("GET", "/")  # first request: URLconf, templates
    ctx = multiprocessing.get_context("fork")
    deadline = time.monotonic() + seconds
    groups = [cookies[i::processes] for i in range(processes)]
    before = _cpu(port)
    t0 = time.perf_counter()
    children = []
    for n, group in enumerate(groups):
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_users_process,
                            args=(port, group, n * 1000, deadline, send), daemon=True)
        child.start()
        send.close()
        children.append((child, receive))
    rec = Recorder()
    for child, receive in children:
        if receive.poll(seconds + 180):
            samples, errors = receive.recv()
            rec.samples += samples
            rec.errors += errors[:20 - len(rec.errors)]
        child.join(30)
    elapsed = time.perf_counter() - t0
    after = _cpu(port)
    return rec, elapsed, {k: after[k] - before[k] for k in after}


_server = {}


def _cpu(port):
    return {"server": cpu.group_cpu(_server["pgid"]) if _server else 0.0,
            "postgres": cpu.postgres_cpu(settings.DATABASES["default"]["PORT"]),
            "generator": cpu.own_children_cpu()}


def summarise(rec, elapsed):
    times = [s[1] for s in rec.samples]
    by_kind = {}
    for kind in KINDS:
        t = [s[1] for s in rec.samples if s[0] == kind]
        if t:
            by_kind[kind] = {"count": len(t), "p50": ms(pct(t, 50)), "p95": ms(pct(t, 95))}
    return {"seconds": elapsed, "requests": len(times), "rps": len(times) / elapsed,
            "errors": sum(1 for s in rec.samples if not s[2]), "error_examples": rec.errors,
            "p50": ms(pct(times, 50)), "p95": ms(pct(times, 95)), "p99": ms(pct(times, 99)),
            "by_kind": by_kind}


def bench_load(run_dir, users_count, seconds, threads, kind="single"):
    empty_queue()
    prefix = "load" if kind == "single" else f"load{kind}"
    cookies = session_cookies(users_count, prefix)
    port = free_port()
    server = start_server(run_dir, port, threads, kind)
    _server["pgid"] = server.pid  # its own session: the group holds every worker
    try:
        with host_standing_by():
            rec, elapsed, used = drive(port, cookies, seconds)
    finally:
        _server.clear()
        stop_process(server)
    result = {"server": kind, "users": users_count, "threads": threads,
              **summarise(rec, elapsed),
              "cpu_seconds": used, "generator_processes": GENERATOR_PROCESSES,
              "sites_created": Site.objects.filter(owner__username__startswith=f"{prefix}-",
                                                   name__startswith="load-").count(),
              "jobs_enqueued": queued_jobs()}
    empty_queue()
    log(f"load ({kind}): {result['requests']} requests in {elapsed:.0f}s ({result['rps']:.0f}/s), "
        f"{result['errors']} errors, p95 {result['p95']:.0f} ms, "
        f"{result['sites_created']} sites created; CPU s: "
        + ", ".join(f"{k} {v:.1f}" for k, v in used.items()))
    return result
