"""Shared test fixtures: named users (alice owns, bob is a stranger) and a real worker."""
import django_rq
import pytest
from rq import SimpleWorker


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
    q = django_rq.get_queue("default")
    q.empty()
    yield q
    q.empty()


@pytest.fixture
def run_jobs(queue):
    """Run every queued job with a real (non-forking) RQ worker; returns how many ran."""

    def run():
        before = queue.count
        worker = SimpleWorker([queue], connection=queue.connection)
        worker.work(burst=True)
        return before

    return run
