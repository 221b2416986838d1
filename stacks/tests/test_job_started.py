"""A job's `started` notification is recorded on its log writer's thread, off the
engine's path (issue #13), and still before the job's final one."""
import threading
import time

import pytest

from sites.models import Site
from stacks import notify
from stacks.logwriter import LogWriter
from stacks.models import Deployment, Status, Webhook, WebhookDelivery
from stacks.services import request_deployment

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_that_fails_at_once_records_started_before_failed(
        alice, run_jobs, monkeypatch, settings, tmp_path):
    """Its archive is gone: the job fails before the engine, while its `started` delivery
    is still being recorded (slowly, here) on the writer's thread."""
    settings.SITES_ROOT = tmp_path
    Webhook.objects.create(owner=alice, url="https://hooks.example.com/h",
                           events=["started", "failed"])
    threads = []
    real_payload = notify.payload_for

    def slow_payload(deployment, event):
        threads.append((event, threading.current_thread().name))
        if event == "started":
            time.sleep(0.5)
        return real_payload(deployment, event)

    monkeypatch.setattr(notify, "payload_for", slow_payload)
    site = Site.objects.create(owner=alice, name="gone", source=Site.Source.ARCHIVE,
                               archive="0" * 64, status=Status.LIVE)
    request_deployment(site, Deployment.Action.UPDATE, alice, params={})
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.FAILED and "no longer kept" in site.last_error
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["started", "failed"]
    main = threading.main_thread().name
    assert [e for e, name in threads if name != main] == ["started"]


def test_a_call_on_the_writers_thread_that_fails_is_logged_and_the_log_goes_on(
        alice, caplog):
    site = Site.objects.create(owner=alice, name="blog", status=Status.LIVE)
    deployment = Deployment.objects.create(resource=site, owner=alice, action="update",
                                           stack_name=site.stack_name, status="running")

    def broken():
        raise RuntimeError("boom")

    writer = LogWriter(deployment.pk)
    done = writer.call(broken)
    writer.line("after the failure")
    assert done.wait(5)
    writer.close()
    assert deployment.full_log() == "after the failure\n"
    assert "broken failed on the log writer's thread" in caplog.text
