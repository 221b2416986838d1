"""Telling users what their deployments did: a signed webhook delivery per event to each
webhook that wants it, and an email to the owner when one fails.

Fired where a deployment's state changes (stacks/jobs.py, services.cancel, the sweep's
release), after that transaction commits; each send is a job of its own on the
NOTIFY_QUEUE. Nothing here can block or fail a deployment: errors are logged and left.

Retries: a delivery that fails is retried after WEBHOOK_BACKOFF[n] seconds, up to
len(WEBHOOK_BACKOFF) + 1 attempts. The row says when (next_attempt_at) and the retry pass,
run by the scheduler every WEBHOOK_RETRY_SECONDS (stacks/cron.py), enqueues what is due.
The database is the record, not RQ's scheduled jobs: a retry survives Redis losing its
data, and needs no RQ scheduler in the workers (ours run without one).
"""
import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Profile
from herocool_project import redisconn

from . import webhook_http
from .models import Deployment
from .permissions import DEPLOY, VIEW, may, people_who_may
from .webhooks import PING, NotificationSettings, Webhook, WebhookAttempt, WebhookDelivery

log = logging.getLogger(__name__)
Delivery = WebhookDelivery


def deployment_event(deployment, event):
    """Call where `deployment` changed to `event` (a webhooks.Event): once the
    transaction commits, its deliveries are recorded and enqueued."""
    transaction.on_commit(functools.partial(_fire_noting, deployment.pk, event))


def _fire_noting(deployment_id, event):
    try:
        fire(deployment_id, event)
    except Exception:  # noqa: BLE001 - a notification never fails a deployment
        log.exception("could not notify %s of deployment %s", event, deployment_id)


def fire(deployment_id, event):
    """Record and enqueue one delivery per webhook of the owner's that wants `event` (for
    a team's resource, only while its creator may still see it), and on failure the
    emails. Returns the deliveries."""
    deployment = Deployment.objects.select_related("owner").get(pk=deployment_id)
    payload = payload_for(deployment, event)
    hooks = [h for h in Webhook.objects.filter(owner_id=deployment.owner_id, active=True)
             if h.wants(event)] if may(deployment.owner, VIEW, deployment) else []
    deliveries = [record_delivery(hook, event, payload, deployment) for hook in hooks]
    for delivery in deliveries:
        enqueue_delivery(delivery)
    if event == "failed" and failure_recipients(deployment):
        _enqueue(send_failure_email, deployment.pk)
    return deliveries


def ping(webhook):
    """A test delivery the owner asked for."""
    payload = {"event": PING, "webhook": str(webhook.code), "sent_at": _now()}
    delivery = record_delivery(webhook, PING, payload)
    enqueue_delivery(delivery)
    return delivery


def payload_for(deployment, event):
    resource = deployment.resource
    return {
        "event": f"deployment.{event}",
        "sent_at": _now(),
        "deployment": {
            "id": str(deployment.code),
            "action": deployment.action,
            "status": deployment.status,
            "stack": deployment.stack_name,
            "resource": {"kind": deployment.resource_type.model,
                         "id": str(resource.code) if resource else None,
                         "name": resource.name if resource else None},
            "queued_at": _iso(deployment.queued_at),
            "started_at": _iso(deployment.started_at),
            "finished_at": _iso(deployment.finished_at),
            "error": deployment.error,
            "path": deployment.get_absolute_url(),
        },
    }


def record_delivery(webhook, event, payload, deployment=None):
    # Its first attempt is enqueued now; should that job be lost, the retry pass takes
    # it once the attempt is overdue.
    lost_after = timedelta(seconds=settings.WEBHOOK_TIMEOUT + 60)
    return Delivery.objects.create(webhook=webhook, event=event, payload=payload,
                                   deployment=deployment,
                                   next_attempt_at=timezone.now() + lost_after)


def enqueue_delivery(delivery):
    """Put its next attempt on the queue; False if Redis is down (the retry pass
    enqueues it later)."""
    return _enqueue(deliver_webhook, delivery.pk, delivery.attempts + 1)


def _enqueue(func, *args):
    try:
        redisconn.queue(settings.NOTIFY_QUEUE).enqueue(
            func, *args, job_timeout=settings.WEBHOOK_TIMEOUT + 30, result_ttl=3600)
    except Exception:  # noqa: BLE001 - the row is the record; the queue comes back
        log.exception("could not enqueue %s%s", func.__name__, args)
        return False
    return True


# --- the jobs ------------------------------------------------------------------------

def deliver_webhook(delivery_id, attempt):
    """Send attempt number `attempt` of a delivery; schedule the next on failure.
    Returns the delivery's status, or None when that attempt was not its to make."""
    delivery = Delivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or not delivery.claim(attempt):
        return None
    record = WebhookAttempt.objects.create(delivery=delivery, number=attempt)
    hook = delivery.webhook
    if not hook.active:  # switched off (by an operator) since it was recorded
        record.complete(None, "Not sent: the webhook is switched off.")
        delivery.end(Delivery.Status.FAILED)
        return delivery.status
    try:
        status, excerpt = webhook_http.post(
            hook.url, webhook_http.body_of(delivery.payload), secret=hook.secret,
            event=delivery.event_name, delivery=str(delivery.code),
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_loopback=settings.HEROCOOL_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS)
    except webhook_http.FetchError as exc:
        status, excerpt = None, str(exc)
    record.complete(status, excerpt)
    if record.ok:
        delivery.end(Delivery.Status.DELIVERED)
    elif attempt > len(settings.WEBHOOK_BACKOFF):
        delivery.end(Delivery.Status.FAILED)
    else:
        delivery.retry_in(settings.WEBHOOK_BACKOFF[attempt - 1])
    return delivery.status


def retry_due():
    """The retry pass: enqueue the next attempt of every delivery due for one (its
    back-off passed, or its attempt lost). Returns how many."""
    enqueued = 0
    for delivery in Delivery.due().order_by("next_attempt_at")[:500]:
        if delivery.attempts > len(settings.WEBHOOK_BACKOFF):  # its last attempt was lost
            delivery.end(Delivery.Status.FAILED)
        elif delivery.postpone(delivery.next_attempt_at) and enqueue_delivery(delivery):
            enqueued += 1
    return enqueued


def send_failure_email(deployment_id):
    """Email a failed deployment to the people who can act on it (failure_recipients),
    one message each. Returns how many were sent."""
    deployment = Deployment.objects.select_related("owner").get(pk=deployment_id)
    resource = deployment.resource
    name = resource.name if resource else deployment.stack_name
    subject = f"Herocool: the {deployment.action} of {name} failed"
    recipients = failure_recipients(deployment)
    for user in recipients:
        body = (f"Hello {user.username},\n\nThe {deployment.action} of {name} failed at "
                f"{_iso(deployment.finished_at)}.\n\n{deployment.error}\n\nIts log: "
                f"{settings.HEROCOOL_BASE_URL}{deployment.get_absolute_url()}\n\nYou can "
                "stop these emails on your account's Notifications page.\n")
        send_mail(subject, body, None, [user.email])
    return len(recipients)


def failure_recipients(deployment):
    """Who hears of a failure: the owner of a personal resource; a team's admins and
    deployers (who can act on it). Only those who want it, one message per address."""
    return once_per_address(u for u in people_who_may(DEPLOY, deployment) if wants_email(u))


def once_per_address(users):
    seen, kept = set(), []
    for user in users:
        if user.email.lower() not in seen:
            seen.add(user.email.lower())
            kept.append(user)
    return kept


def wants_email(user):
    return (bool(user.email) and NotificationSettings.for_user(user).email_on_failure
            and Profile.email_is_verified(user))  # an unproven address may be anyone's


def _now():
    return _iso(timezone.now())


def _iso(moment):
    return moment.isoformat() if moment else None
