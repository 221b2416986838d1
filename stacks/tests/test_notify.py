"""Webhook deliveries: signed, sent by a real RQ worker to a real receiver on loopback,
retried with back-off, refused where the URL fetcher refuses, fired by deployment events."""
import hashlib
import hmac
import json
import time

import pytest
from django.utils import timezone

from sites.models import Site
from stacks import notify, services
from stacks.models import Deployment, Status, Webhook, WebhookDelivery
from stacks.tests.webhook_receiver import (  # noqa: F401 - fixtures
    Receiver, notify_queue, receiver, run_notifications)

pytestmark = pytest.mark.django_db
ALL = ["started", "succeeded", "failed", "cancelled"]
Delivered = WebhookDelivery.Status


def hook_for(user, url, events=ALL):
    return Webhook.objects.create(owner=user, url=url, events=events)


def verify(secret, headers, body, tolerance=300):
    """What a receiver does (the README's snippet): recompute the signature."""
    fields = dict(part.split("=", 1) for part in headers["Herocool-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return (hmac.compare_digest(expected, fields["v1"])
            and abs(time.time() - int(fields["t"])) < tolerance)


def test_a_delivery_reaches_the_receiver_signed_with_the_webhooks_secret(
        alice, receiver, run_notifications):
    hook = hook_for(alice, receiver.url)
    delivery = notify.ping(hook)
    assert run_notifications() == 1
    [(_, path, headers, body)] = receiver.requests
    assert path == "/hooks/herocool"
    assert headers["Herocool-Event"] == "ping"
    assert headers["Herocool-Delivery"] == str(delivery.code)
    assert headers["Content-Type"] == "application/json"
    assert verify(hook.secret, headers, body)
    assert not verify("whsec_another", headers, body)
    assert not verify(hook.secret, headers, body + b" ")
    assert json.loads(body) == delivery.payload
    delivery.refresh_from_db()
    assert delivery.status == Delivered.DELIVERED and delivery.attempts == 1
    [attempt] = delivery.attempt_rows.all()
    assert attempt.response_status == 200 and attempt.excerpt == '{"seen": 1}'
    assert attempt.finished_at >= attempt.started_at


def test_a_failing_receiver_is_retried_after_its_back_off_and_delivered_once_it_answers(
        alice, receiver, run_notifications, settings):
    settings.WEBHOOK_BACKOFF = (3,)
    receiver.statuses = [500, 200]
    delivery = notify.ping(hook_for(alice, receiver.url))
    run_notifications()
    delivery.refresh_from_db()
    assert delivery.status == Delivered.PENDING and delivery.attempts == 1
    assert notify.retry_due() == 0  # its back-off (3 s) has not passed
    time.sleep((delivery.next_attempt_at - timezone.now()).total_seconds() + 0.1)
    assert notify.retry_due() == 1
    assert notify.retry_due() == 0  # enqueued once
    run_notifications()
    delivery.refresh_from_db()
    assert delivery.status == Delivered.DELIVERED and delivery.attempts == 2
    assert [a.response_status for a in delivery.attempt_rows.all()] == [500, 200]
    (first, _, h1, b1), (second, _, h2, b2) = receiver.requests
    assert second - first >= 3  # the back-off
    assert h1["Herocool-Delivery"] == h2["Herocool-Delivery"] and b1 == b2


def test_a_delivery_is_given_up_after_its_last_attempt(alice, receiver, run_notifications,
                                                       settings):
    settings.WEBHOOK_BACKOFF = (0, 0)
    receiver.statuses = [503]
    delivery = notify.ping(hook_for(alice, receiver.url))
    for _ in range(5):
        run_notifications()
        notify.retry_due()
    delivery.refresh_from_db()
    assert delivery.status == Delivered.FAILED and delivery.attempts == 3
    assert len(receiver.requests) == 3 and delivery.finished_at is not None


def test_an_attempt_enqueued_twice_is_sent_once(alice, receiver, run_notifications):
    delivery = notify.ping(hook_for(alice, receiver.url))
    notify.enqueue_delivery(delivery)
    assert run_notifications() == 2
    assert len(receiver.requests) == 1


def test_the_retry_pass_sends_a_delivery_whose_job_was_lost(alice, receiver,
                                                             run_notifications):
    delivery = notify.record_delivery(hook_for(alice, receiver.url), "ping", {"x": 1})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=delivery.created)  # its attempt is overdue
    assert notify.retry_due() == 1
    run_notifications()
    delivery.refresh_from_db()
    assert delivery.status == Delivered.DELIVERED and len(receiver.requests) == 1


def test_a_redirect_is_not_followed(alice, receiver, run_notifications):
    receiver.statuses = [302]
    delivery = notify.ping(hook_for(alice, receiver.url))
    run_notifications()
    delivery.refresh_from_db()
    assert delivery.status == Delivered.PENDING
    assert [a.response_status for a in delivery.attempt_rows.all()] == [302]
    assert [r[1] for r in receiver.requests] == ["/hooks/herocool"]


def test_loopback_is_refused_without_the_test_setting(alice, run_notifications):
    server = Receiver()
    try:
        delivery = notify.ping(hook_for(alice, server.url))
        run_notifications()
    finally:
        server.close()
    assert server.requests == []
    [attempt] = delivery.attempt_rows.all()
    assert attempt.response_status is None
    assert attempt.excerpt == ("The address 127.0.0.1 is private, loopback or link-local "
                               "and is refused")


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://192.168.1.1:8080/x",
                                 "http://169.254.169.254/latest/meta-data/",
                                 "http://[fd00:ec2::254]/", "http://[::ffff:10.0.0.1]/",
                                 "http://0.0.0.0/"])
def test_private_and_metadata_addresses_are_refused_even_with_the_test_setting(
        alice, receiver, run_notifications, url):
    delivery = notify.ping(hook_for(alice, url))
    run_notifications()
    [attempt] = delivery.attempt_rows.all()
    assert attempt.response_status is None and "is refused" in attempt.excerpt


# --- events ----------------------------------------------------------------------------

@pytest.fixture
def site(alice):
    return Site.objects.create(owner=alice, name="blog", content="<p>1</p>",
                               status=Status.LIVE)


def test_a_queued_cancel_fires_cancelled_once_to_the_hooks_that_want_it(
        alice, bob, site, queue, receiver, run_notifications,
        django_capture_on_commit_callbacks):
    wanted = hook_for(alice, receiver.url, ["cancelled"])
    hook_for(alice, receiver.url, ["failed"])  # not this event
    Webhook.objects.create(owner=alice, url=receiver.url, events=ALL, active=False)
    hook_for(bob, receiver.url)  # not this owner
    with django_capture_on_commit_callbacks(execute=True):
        deployment = services.request_deployment(site, Deployment.Action.UPDATE, alice,
                                                 params={"content": "<p>2</p>"})
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(deployment, alice)
    run_notifications()
    [(_, _, headers, body)] = receiver.requests
    assert headers["Herocool-Event"] == "deployment.cancelled"
    assert verify(wanted.secret, headers, body)
    sent = json.loads(body)["deployment"]
    assert sent["id"] == str(deployment.code) and sent["status"] == "cancelled"
    assert sent["resource"] == {"kind": "site", "id": str(site.code), "name": "blog"}


def test_a_failing_webhook_never_fails_the_deployment(alice, site, queue, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    hook_for(alice, "http://example.com/")

    def broken(*args):
        raise RuntimeError("the database of webhooks is on fire")

    monkeypatch.setattr(notify, "fire", broken)
    with django_capture_on_commit_callbacks(execute=True):
        deployment = services.request_deployment(site, Deployment.Action.UPDATE, alice)
        services.cancel(deployment, alice)
    deployment.refresh_from_db()
    assert deployment.status == "cancelled"


def test_a_webhook_switched_off_sends_no_more_attempts(alice, receiver, run_notifications):
    hook = hook_for(alice, receiver.url)
    delivery = notify.ping(hook)
    Webhook.objects.filter(pk=hook.pk).update(active=False)
    run_notifications()
    delivery.refresh_from_db()
    assert receiver.requests == [] and delivery.status == Delivered.FAILED
    assert delivery.attempt_rows.get().excerpt == "Not sent: the webhook is switched off."


def test_a_lost_last_attempt_ends_the_delivery_failed_not_sent_again(alice, receiver,
                                                                      run_notifications):
    delivery = notify.record_delivery(hook_for(alice, receiver.url), "ping", {"x": 1})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(  # its worker died mid-send
        status=Delivered.SENDING, attempts=3, next_attempt_at=delivery.created)
    assert notify.retry_due() == 0
    run_notifications()
    delivery.refresh_from_db()
    assert delivery.status == Delivered.FAILED and receiver.requests == []
