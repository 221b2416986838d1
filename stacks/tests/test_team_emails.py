"""Failure and expiry emails of a team's resource (issue #18's loose end): they go to the
team's admins and deployers (who can act), each once, never to a viewer, a stranger or
a creator who has left the team, and each recipient's own preferences hold. A personal
resource's still go to its owner alone."""
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership, Profile, Team
from sites.models import Site
from stacks import notify
from stacks.expiry import expire_due
from stacks.models import Deployment, NotificationSettings, Status, Webhook
from stacks.webhooks import WebhookDelivery
from stacks.tests.webhook_receiver import (  # noqa: F401 - fixtures
    notify_queue, run_notifications, smtp_server)

pytestmark = pytest.mark.django_db
State = Deployment.State


def verified(user, email):
    user.email = email
    user.save()
    Profile.objects.create(user=user, verified_email=email)
    return user


@pytest.fixture
def team(django_user_model, alice):
    """ops: alice (creator, admin), dee (deployer), vic (viewer), all verified."""
    team = Team.start("ops", alice)
    verified(alice, "alice@example.com")
    for name, role in (("dee", "deployer"), ("vic", "viewer")):
        user = verified(django_user_model.objects.create_user(name), f"{name}@example.com")
        Membership.objects.create(team=team, user=user, role=role)
    return team


def failed_deployment(owner, team=None):
    site = Site.objects.create(owner=owner, team=team, name="blog", content="<p>1</p>",
                               status=Status.LIVE)
    deployment = Deployment.objects.create(resource=site, owner=owner, team=team,
                                           action="update", stack_name=site.stack_name,
                                           status=State.RUNNING)
    assert deployment.finish(State.FAILED, error="The disk is full.")
    notify.fire(deployment.pk, State.FAILED)
    return deployment


def test_a_team_failure_emails_its_admins_and_deployers_through_smtp(
        team, alice, smtp_server, run_notifications):
    failed_deployment(alice, team)
    assert run_notifications() == 1
    assert sorted(r for rs, _ in smtp_server for r in rs) == [
        "alice@example.com", "dee@example.com"]  # not vic, the viewer
    for _, message in smtp_server:
        assert message["Subject"] == "Herocool: the update of blog failed"
        assert "The disk is full." in message.get_payload()


def test_a_creator_who_left_the_team_hears_nothing_of_its_failures(
        team, alice, bob, smtp_server, run_notifications):
    Membership.objects.filter(team=team, user=alice).update(role="deployer")
    Membership.objects.create(team=team, user=bob, role="admin")
    verified(bob, "bob@example.com")
    Membership.objects.get(team=team, user=alice).end()
    failed_deployment(alice, team)
    run_notifications()
    assert sorted(r for rs, _ in smtp_server for r in rs) == [
        "bob@example.com", "dee@example.com"]


def test_each_team_member_is_emailed_once_and_by_their_own_preferences(
        team, alice, django_user_model):
    """Two accounts sharing one address get one message; dee switched failures off; an
    unverified address gets nothing (an unproven address may be anyone's)."""
    NotificationSettings.objects.create(
        user=django_user_model.objects.get(username="dee"), email_on_failure=False)
    twin = verified(django_user_model.objects.create_user("twin"), "ALICE@example.com")
    raw = django_user_model.objects.create_user("raw", email="raw@example.com")
    for user in (twin, raw):
        Membership.objects.create(team=team, user=user, role="admin")
    deployment = failed_deployment(alice, team)
    mail.outbox.clear()
    assert notify.send_failure_email(deployment.pk) == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_team_failure_nobody_wants_is_not_even_queued(team, alice, notify_queue):
    for user in team.memberships.values_list("user", flat=True):
        NotificationSettings.objects.create(user_id=user, email_on_failure=False)
    failed_deployment(alice, team)
    assert notify_queue.count == 0


def test_a_personal_failure_still_emails_only_its_owner(team, alice, run_notifications):
    failed_deployment(alice)
    assert run_notifications() == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_team_expiry_reminds_its_admins_and_deployers_not_a_creator_who_left(
        team, alice, bob, run_notifications, settings):
    settings.HEROCOOL_EXPIRY_REMIND_BEFORE = 3600
    Membership.objects.create(team=team, user=verified(bob, "bob@example.com"), role="admin")
    Membership.objects.get(team=team, user=alice).end()
    site = Site.objects.create(owner=alice, team=team, name="s", content="x",
                               status=Status.LIVE)
    site.set_expiry(timezone.now() + timedelta(minutes=30))
    assert expire_due() == (1, 0)
    assert run_notifications() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.com", "dee@example.com"]
    assert all("s expires at" in m.subject for m in mail.outbox)
    assert all("the team's admins can extend or clear" in m.body for m in mail.outbox)


def test_a_team_expiry_with_no_verified_actor_is_reminded_once_and_not_queued(
        alice, notify_queue):
    team = Team.start("ops", alice)
    alice.email = "alice@example.com"  # typed, never proved
    alice.save()
    site = Site.objects.create(owner=alice, team=team, name="s", content="x",
                               status=Status.LIVE)
    site.set_expiry(timezone.now() + timedelta(minutes=30))
    assert expire_due() == (1, 0)
    assert notify_queue.count == 0


def test_a_creator_who_left_the_team_gets_no_webhook_delivery_of_its_deployments(
        team, alice, bob, notify_queue):
    Webhook.objects.create(owner=alice, url="https://hooks.example.com/a", events=["failed"])
    deployment = failed_deployment(alice, team)  # fired while she is its admin: sent
    assert WebhookDelivery.objects.filter(deployment=deployment).count() == 1
    Membership.objects.create(team=team, user=bob, role="admin")
    Membership.objects.get(team=team, user=alice).end()
    assert notify.fire(deployment.pk, State.FAILED) == []
    assert WebhookDelivery.objects.count() == 1
