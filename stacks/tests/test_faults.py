"""Faults: the queue down, the database down, two workers, an engine failing mid-update."""
import io
import os
import shutil
import subprocess
import sys
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from conftest import live_host_registration
from sites.models import Site
from stacks.jobs import run_deployment
from stacks.models import Deployment, Status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_redis(settings, tmp_path):
    """A Redis of this test's own, which the test may stop and start again."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(tmp_path)]

    class Server:
        def start(self):
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
            import redis
            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    threading.Event().wait(0.05)
            raise RuntimeError("redis did not start")

        def stop(self):
            self.proc.kill()
            self.proc.wait(10)

    server = Server()
    server.start()
    settings.RQ_QUEUES = {name: {**conf, "URL": f"redis://127.0.0.1:{port}/0"}
                          for name, conf in settings.RQ_QUEUES.items()}
    with live_host_registration():  # this host, live in this Redis too
        yield server
    server.stop()


def test_redis_down_then_back_loses_nothing_and_runs_nothing_twice(
        alice_client, own_redis, origin, run_jobs):
    alice_client.post(reverse("sites-create"),
                      {"name": "before", "source": "html", "html": "<p>before</p>"})
    own_redis.stop()  # the queued job is lost with it (no persistence)
    response = alice_client.post(reverse("sites-create"), {
        "name": "during", "source": "html", "html": "<p>during</p>"}, follow=True)
    assert "the job queue is unavailable right now" in response.content.decode()
    assert Site.objects.filter(name="during").exists()  # recorded all the same
    # Host liveness lives in Redis: unknown now, so no page calls a host unreachable.
    listing = alice_client.get(reverse("sites-index")).content.decode()
    assert "during" in listing and "host unreachable" not in listing
    assert Deployment.objects.filter(status="queued").count() == 2

    own_redis.start()
    out = io.StringIO()
    call_command("requeue_deployments", stdout=out)
    assert "2 queued deployment(s) missing" in out.getvalue()
    call_command("requeue_deployments", stdout=out)  # a second run adds nothing
    assert "0 queued deployment(s) missing" in out.getvalue()
    assert run_jobs() == 2
    for site in Site.objects.all():
        assert site.status == Status.LIVE
        deployment = site.deployments.get()
        assert deployment.full_log().count("requested by alice; started") == 1


def test_two_workers_on_one_deployment_run_it_once(alice_client, origin):
    alice_client.post(reverse("sites-create"),
                      {"name": "once", "source": "html", "html": "<p>once</p>"})
    deployment = Site.objects.get(name="once").deployments.get()
    results = []

    def worker():
        try:
            results.append(run_deployment(deployment.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deployment.refresh_from_db()
    assert deployment.status == "succeeded"
    assert sorted(results, key=str) == [None, "succeeded"]  # one ran it, one found it taken
    assert deployment.full_log().count("requested by alice; started") == 1


def test_engine_failing_mid_update_keeps_the_log_and_retry_works(
        alice_client, origin, fetch, run_jobs, settings):
    alice_client.post(reverse("sites-create"),
                      {"name": "upd", "source": "html", "html": "<p>v1</p>"})
    run_jobs()
    site = Site.objects.get(name="upd")
    site_dir = settings.SITES_ROOT / site.host_label
    shutil.rmtree(site_dir)
    site_dir.write_text("a file where the site's folder should be")
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": "<p>v2</p>"})
    run_jobs()
    site.refresh_from_db()
    update = site.deployments.first()
    assert site.status == Status.FAILED and update.status == "failed"
    assert "Updating (" in update.full_log() and update.error in site.last_error
    site_dir.unlink()
    alice_client.post(reverse("sites-retry", args=[site.code]))
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.LIVE and fetch(site.website_url) == "<p>v2</p>"


def test_database_unavailable_gives_a_clear_page_not_a_traceback(settings, tmp_path):
    """A process whose PostgreSQL cannot be reached answers 503 with a plain message."""
    script = (
        "import django, os; django.setup()\n"
        "from django.test import Client\n"
        "r = Client(raise_request_exception=False).post('/login/', "
        "{'username': 'a', 'password': 'b'})\n"
        "print(r.status_code); print(r.content.decode())\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "herocool_project.settings",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nothing", "DEBUG": "False",
           "ALLOWED_HOSTS": "testserver",
           "HEROCOOL_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)
    status, _, page = done.stdout.partition("\n")
    assert status == "503", done.stdout + done.stderr
    assert "Its database cannot be reached right now" in page
    assert "Traceback" not in page and "OperationalError" not in page
