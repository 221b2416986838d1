"""/metrics: protected, and its figures move with real deployments, queues and workers."""
import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families
from rq import Worker

from sites.models import Site
from stacks.models import Deployment

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def samples(text):
    """{(sample name, frozenset of labels): value} from Prometheus' text format."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(client, token=TOKEN, **headers):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **headers)
    assert response.status_code == 200, response.status_code
    return samples(response.content.decode())


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0)


def test_strangers_get_404(client, bob, token):
    assert client.get("/metrics").status_code == 404
    for wrong in ("", "Bearer", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN):
        assert client.get("/metrics", HTTP_AUTHORIZATION=wrong).status_code == 404, wrong
    client.force_login(bob)
    assert client.get("/metrics").status_code == 404


def test_without_a_token_set_no_bearer_gets_in(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_the_token_or_a_staff_session_gets_in(client, token, django_user_model):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                          HTTP_HOST="10.1.2.3:8000")  # Prometheus scrapes by address
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))
    assert client.get("/metrics").status_code == 200


def test_the_token_can_come_from_a_file(settings, tmp_path):
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    env = {**os.environ, "HEROCOOL_METRICS_TOKEN_FILE": str(secret),
           "DJANGO_SETTINGS_MODULE": "herocool_project.settings"}
    env.pop("HEROCOOL_METRICS_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.METRICS_TOKEN)"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == TOKEN, done.stderr


def test_http_latency_is_counted_by_view_and_status(client, token):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page/")
    client.get("/static/no-such-file.css")
    after = scrape(client)
    name = "herocool_http_request_duration_seconds_count"
    assert value(after, name, view="health-live", method="GET", status="200") == \
        value(before, name, view="health-live", method="GET", status="200") + 2
    assert value(after, name, view="unresolved", method="GET", status="404") == \
        value(before, name, view="unresolved", method="GET", status="404") + 1
    assert value(after, name, view="static", method="GET", status="404") == \
        value(before, name, view="static", method="GET", status="404") + 1


def test_workers_are_counted_by_state(client, token, queue):
    worker = Worker([queue], connection=queue.connection)
    worker.register_birth()
    try:
        worker.set_state("busy")
        assert value(scrape(client), "herocool_workers", state="busy") == 1
    finally:
        worker.register_death()
    assert value(scrape(client), "herocool_workers", state="busy") == 0


def test_a_lost_redis_leaves_the_database_figures(client, token, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    found = scrape(client)
    assert value(found, "herocool_metrics_source_up", source="redis") == 0
    assert value(found, "herocool_metrics_source_up", source="database") == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_counters_move_with_real_deployments(client, token, live_site, alice_client,
                                             run_jobs):
    """The create ran on a real worker; a refresh then waits in the queue, then runs."""
    found = scrape(client)
    assert value(found, "herocool_deployments_total", action="create", result="succeeded") == 1
    assert value(found, "herocool_deployment_duration_seconds_count",
                 action="create", result="succeeded") == 1
    assert value(found, "herocool_deployment_duration_seconds_sum",
                 action="create", result="succeeded") > 0
    assert value(found, "herocool_queue_jobs", queue="default") == 0

    alice_client.post(reverse("sites-refresh", args=[live_site.code]))
    Deployment.objects.filter(action="refresh").update(
        queued_at=Deployment.objects.get(action="refresh").queued_at.replace(year=2000))
    queued = scrape(client)
    # The site lives on this host: its jobs wait in the host's queue.
    assert value(queued, "herocool_queue_jobs", queue=settings.HOST_QUEUE) == 1
    assert value(queued, "herocool_queue_oldest_job_age_seconds",
                 queue=settings.HOST_QUEUE) > 0
    assert value(queued, "herocool_deployments_active", action="refresh", status="queued") == 1
    assert value(queued, "herocool_deployment_oldest_queued_age_seconds") > 20 * 365 * 86400

    assert run_jobs() == 1
    done = scrape(client)
    assert value(done, "herocool_queue_jobs", queue=settings.HOST_QUEUE) == 0
    assert value(done, "herocool_deployments_active", action="refresh", status="queued") == 0
    assert value(done, "herocool_deployments_total", action="refresh", result="succeeded") == 1
    assert value(done, "herocool_deployment_duration_seconds_bucket", action="refresh",
                 result="succeeded", le="+Inf") == 1
    assert Site.objects.get().status == "live"


def test_web_processes_share_their_latency_in_multiprocess_mode(settings, tmp_path):
    """Two forked processes serve a request each; a third process's scrape sums them."""
    metrics_dir = tmp_path / "metrics"
    script = textwrap.dedent(f"""
        import os, sys
        from herocool_project import multiprocess_dir
        multiprocess_dir.prepare({str(metrics_dir)!r})
        import django
        django.setup()
        from django.test import Client
        for _ in range(2):
            if os.fork() == 0:
                Client().get("/healthz")
                os._exit(0)
            os.wait()
        from herocool_project import metrics
        from prometheus_client import generate_latest
        assert metrics.is_multiprocess()
        sys.stdout.write(generate_latest(metrics.registry()).decode())
    """)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "herocool_project.settings"}
    done = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = samples(done.stdout)
    assert value(found, "herocool_http_request_duration_seconds_count",
                 view="health-live", method="GET", status="200") == 2
    assert (metrics_dir.stat().st_mode & 0o777) == 0o700
    assert len(list(metrics_dir.glob("histogram_*.db"))) == 2  # one file per process


def test_run_times_fall_in_their_buckets(client, token, alice):
    from datetime import timedelta

    from django.utils import timezone

    site = Site.objects.create(owner=alice, name="timed", content="x")
    now = timezone.now()
    for n, (seconds, status) in enumerate([(3, "succeeded"), (42, "succeeded"),
                                           (4000, "failed"), (None, "cancelled")]):
        started = now - timedelta(seconds=seconds) if seconds is not None else None
        Deployment.objects.create(resource=site, owner=alice, stack_name=f"s{n}",
                                  action="update", status=status, started_at=started,
                                  finished_at=now if started else None)
    found = scrape(client)
    bucket = "herocool_deployment_duration_seconds_bucket"
    ok = {"action": "update", "result": "succeeded"}
    assert [value(found, bucket, le=le, **ok) for le in ("1.0", "5.0", "30.0", "60.0", "+Inf")] \
        == [0, 1, 1, 2, 2]
    assert value(found, "herocool_deployment_duration_seconds_sum", **ok) == 45
    assert value(found, bucket, le="3600.0", action="update", result="failed") == 0
    assert value(found, bucket, le="+Inf", action="update", result="failed") == 1
    # Cancelled before it started: counted, but it has no run time.
    assert value(found, "herocool_deployments_total", action="update", result="cancelled") == 1
    assert value(found, bucket, le="+Inf", action="update", result="cancelled") == 0
