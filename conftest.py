"""Shared test fixtures: named users (alice owns, bob is a stranger) and a real worker."""
import threading
import urllib.request

import pytest


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_pulumi_backend(settings, tmp_path):
    """Each test gets a backend of its own: database rows and stacks start empty together."""
    settings.PULUMI_BACKEND_URL = (tmp_path / "pulumi-state").as_uri()


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
    """The real default queue on the test Redis, emptied before and after."""
    import django_rq

    q = django_rq.get_queue("default")
    q.empty()
    yield q
    q.empty()


@pytest.fixture
def run_jobs(queue):
    """Run every queued job with a real (non-forking) RQ worker; returns how many ran."""

    from rq import SimpleWorker

    def run():
        before = queue.count
        worker = SimpleWorker([queue], connection=queue.connection)
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
        host = url.split("//", 1)[1].split("/", 1)[0]
        request = urllib.request.Request(f"http://127.0.0.1:{origin}/",
                                         headers={"Host": host})
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read().decode()

    return get
