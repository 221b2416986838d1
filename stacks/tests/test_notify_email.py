"""Email on a failed deployment: sent by a real RQ worker through Django's SMTP backend
to a real SMTP server on loopback, to the owner's address, only when they want it."""
import pytest

from accounts.models import Profile
from sites.models import Site
from stacks import notify
from stacks.models import Deployment, NotificationSettings, Status
from stacks.tests.webhook_receiver import (  # noqa: F401 - fixtures
    notify_queue, run_notifications, smtp_server)

pytestmark = pytest.mark.django_db
State = Deployment.State


def ended(user, state, error=""):
    """A deployment of `user`'s that ran and ended in `state`, its event fired."""
    site = Site.objects.create(owner=user, name="blog", content="<p>1</p>",
                               status=Status.LIVE)
    deployment = Deployment.objects.create(resource=site, owner=user, action="update",
                                           stack_name=site.stack_name, status=State.RUNNING)
    assert deployment.finish(state, error=error)
    notify.fire(deployment.pk, state)
    return deployment


def verified(user, email):
    user.email = email
    user.save()
    Profile.objects.create(user=user, verified_email=email)


def test_a_failed_deployment_emails_its_owner_through_smtp(alice, smtp_server,
                                                          run_notifications):
    verified(alice, "alice@example.com")
    deployment = ended(alice, State.FAILED, error="The disk is full.")
    assert run_notifications() == 1
    [(recipients, message)] = smtp_server
    assert recipients == ["alice@example.com"]
    assert message["From"] == "herocool@example.net"
    assert message["Subject"] == "Herocool: the update of blog failed"
    body = message.get_payload()
    assert "The disk is full." in body and str(deployment.code) in body


def test_no_email_to_an_address_not_verified(alice, smtp_server, run_notifications):
    """An address typed but never proved may be someone else's: it gets no notices."""
    alice.email = "alice@example.com"
    alice.save()
    ended(alice, State.FAILED, error="x")
    assert run_notifications() == 0
    assert smtp_server == []


def test_a_changed_address_gets_no_notices_until_verified(alice, smtp_server,
                                                          run_notifications):
    verified(alice, "alice@example.com")
    alice.email = "alice@elsewhere.example"
    alice.save()
    ended(alice, State.FAILED, error="x")
    assert run_notifications() == 0
    assert smtp_server == []


def test_no_email_for_an_owner_without_an_address(alice, smtp_server, run_notifications):
    ended(alice, State.FAILED, error="x")
    run_notifications()
    assert smtp_server == []


def test_no_email_for_an_owner_who_turned_it_off(alice, smtp_server, run_notifications):
    verified(alice, "alice@example.com")
    NotificationSettings.objects.create(user=alice, email_on_failure=False)
    ended(alice, State.FAILED, error="x")
    assert run_notifications() == 0
    assert smtp_server == []


def test_no_email_for_a_success(alice, smtp_server, run_notifications):
    verified(alice, "alice@example.com")
    ended(alice, State.SUCCEEDED)
    assert run_notifications() == 0
    assert smtp_server == []
