"""Shared test fixtures: named users (alice owns, bob is a stranger) and a real worker."""
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

# Imported now, while collecting: a failed inline Pulumi program leaves a coroutine whose
# finalizer, if it runs during a later import that pytest rewrites (hypothesis's plugin
# at the end of the session), trips CPython 3.11's "AST constructor recursion depth
# mismatch". Imported early, nothing is left to compile then.
import hypothesis  # noqa: F401,E402


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests start and kill workers and look at once (the cache has its own test).
    settings.HOST_LIVENESS_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """In-process pages name static files as Django's test server serves them (from the
    source folders); the hashed, compressed files of production are tested through the
    real web server (e2e/test_production.py)."""
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise looks there
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _own_pulumi_backend(request, settings, tmp_path):
    """Each test gets a backend of its own: database rows and stacks start empty together.

    file:// in the test's directory, or postgres://, a table of its own in the test
    database (dropped after). Which one: the test's parameter (parametrize this fixture
    indirectly with "file" / "postgres"), else HEROCOOL_TEST_PULUMI_BACKEND, else file."""
    kind = getattr(request, "param", None) or os.environ.get("HEROCOOL_TEST_PULUMI_BACKEND",
                                                             "file")
    if kind == "file":
        settings.PULUMI_BACKEND_URL = (tmp_path / "pulumi-state").as_uri()
        yield settings.PULUMI_BACKEND_URL
        return
    assert kind == "postgres", kind
    request.getfixturevalue("django_db_setup")
    with postgres_backend(request.getfixturevalue("django_db_blocker")) as url:
        settings.PULUMI_BACKEND_URL = url
        yield url


@contextmanager
def postgres_backend(db_blocker):
    """A postgres:// backend: a fresh table in the test database, dropped after. (Only a
    session with a django_db test has a test database: without one, the table goes into
    the configured database, still a table of its own, dropped after.)"""
    from django.db import connection, transaction

    from herocool_project.pulumi_backend import django_postgres_url

    if "postgresql" not in connection.settings_dict["ENGINE"]:
        pytest.skip("the postgres:// backend needs the PostgreSQL test database")
    table = f"pulumi_test_{uuid.uuid4().hex[:12]}"
    yield django_postgres_url(connection.settings_dict, table=table)
    with db_blocker.unblock(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in Redis; each test starts with none."""
    import django_rq

    conn = django_rq.get_connection("default")
    for key in conn.scan_iter("herocool:rate:*"):
        conn.delete(key)


DB_FIXTURES = ("db", "transactional_db", "_django_db_helper")


@pytest.fixture(autouse=True)
def this_host(request):
    """This machine is a live host (stacks/hosts.py), as when a worker of it runs: its
    record, and a real RQ worker registration on its queue, heartbeating every second,
    that never takes a job (run_jobs and worker processes take them). For tests with a
    database; yields the Host, or None."""
    if not (request.node.get_closest_marker("django_db")
            or any(name in request.fixturenames for name in DB_FIXTURES)):
        yield None
        return
    request.getfixturevalue("_django_db_helper")
    with live_host_registration() as host:
        yield host


@contextmanager
def live_host_registration():
    """This machine's host record, and a real RQ worker registration on its queue (in the
    Redis RQ_QUEUES names now), heartbeating every second, that never takes a job. A
    Redis that stops meanwhile only skips heartbeats."""
    import django_rq
    from django.conf import settings
    from redis.exceptions import RedisError

    from stacks.hosts import Host
    from stacks.rqworker import HerocoolSimpleWorker

    queue = django_rq.get_queue(settings.HOST_QUEUE)
    queue.empty()
    registration = HerocoolSimpleWorker([queue], connection=queue.connection,
                                        name=f"test-host-{uuid.uuid4().hex[:8]}")
    registration.register_birth()
    stop = threading.Event()

    def heartbeat():
        while not stop.wait(1):
            try:
                registration.heartbeat()
            except RedisError:
                pass

    beating = threading.Thread(target=heartbeat, daemon=True)
    beating.start()
    try:
        yield Host.register_this()
    finally:
        stop.set()
        beating.join()
        try:
            registration.register_death()
            queue.empty()
        except RedisError:
            pass


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def queue():
    """The real default queue on the test Redis. Every configured queue is emptied
    before and after: a test that counts the maintenance queue must not see what an
    earlier test left there (it did, in one file order)."""
    import django_rq
    from django.conf import settings

    queues = [django_rq.get_queue(name) for name in settings.RQ_QUEUES]
    for q in queues:
        q.empty()
    yield django_rq.get_queue("default")
    for q in queues:
        q.empty()


@pytest.fixture
def host_queue(queue, settings):
    """This host's queue, where the jobs of the local-target resources placed on it go
    (stacks/hosts.py); emptied before and after, like the shared one."""
    import django_rq

    q = django_rq.get_queue(settings.HOST_QUEUE)
    q.empty()
    yield q
    q.empty()


@pytest.fixture
def run_jobs(queue):
    """Run every queued job with a real (non-forking) RQ worker, under the rules of ours
    (JSON, our functions only: stacks/rqworker.py); returns how many ran."""

    from stacks.rqworker import HerocoolSimpleWorker

    def run():
        import django_rq
        from django.conf import settings

        mine = django_rq.get_queue(settings.HOST_QUEUE)
        before = queue.count + mine.count
        # Serving `default`, it serves this host's queue too (stacks/rqworker.py).
        worker = HerocoolSimpleWorker([queue], connection=queue.connection)
        worker.work(burst=True)
        return before

    return run


@pytest.fixture
def origin(settings, tmp_path):
    """The separate origin serving published sites, on a free loopback port."""
    from sites.origin import make_server

    settings.SITES_ROOT = tmp_path / "sites"
    settings.SITES_ROOT.mkdir()
    server = make_server(settings.SITES_ROOT, host="127.0.0.1", port=0)
    port = server.server_address[1]
    settings.SITES_URL_TEMPLATE = f"http://{{host}}.localhost:{port}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture
def fetch(origin):
    """GET a site URL: *.localhost goes to the origin on loopback, with its Host header."""

    def get(url):
        host, _, path = url.split("//", 1)[1].partition("/")
        request = urllib.request.Request(f"http://127.0.0.1:{origin}/{path}",
                                         headers={"Host": host})
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read().decode()

    return get


@pytest.fixture
def live_site(alice_client, origin, run_jobs):
    """alice's site "shown", created through the UI and deployed by a real worker."""
    from django.urls import reverse

    from sites.models import Site

    alice_client.post(reverse("sites-create"),
                      {"name": "shown", "source": "html", "html": "<p>one</p>"})
    run_jobs()
    site = Site.objects.get(name="shown")
    assert site.status == "live", site.last_error
    return site


@pytest.fixture
def platform_env(settings, origin):
    """The environment of a platform process (worker, scheduler) started by a test: the
    test database, Redis and backend, and the test's sites origin."""
    from django.db import connection

    db = connection.settings_dict
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("a worker process needs the PostgreSQL test database")
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PULUMI_BACKEND_URL": settings.PULUMI_BACKEND_URL,
        "HEROCOOL_SITES_ROOT": str(settings.SITES_ROOT),
        "HEROCOOL_SITES_URL_TEMPLATE": settings.SITES_URL_TEMPLATE,
        "PYTHONPATH": str(settings.BASE_DIR),
    }


@pytest.fixture
def processes(settings, platform_env):
    """Start platform processes, each in a session of its own; all stopped at the end."""
    started = []

    def start(*args, **env):
        proc = subprocess.Popen([sys.executable, *args], cwd=settings.BASE_DIR,
                                env={**platform_env, **env}, start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop_group(proc)


def stop_group(proc):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(10)
            return
        except ProcessLookupError:
            return  # the test stopped it already
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def slow_worker(processes):
    """A forking RQ worker in a process of its own, on the test database (see
    stacks/tests/slow_worker.py). Yields the Popen; stopped at the end."""
    return processes("stacks/tests/slow_worker.py")


def wait_for(predicate, timeout=60, interval=0.1, explain=None):
    """Poll until predicate() is truthy; return its value or fail the test, with what
    explain() says of the state then (a CI excerpt may cut the captured logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    said = f"\n{explain()}" if explain else ""
    pytest.fail(f"timed out after {timeout} s waiting for {predicate.__doc__ or predicate}"
                + said)
