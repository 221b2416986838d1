"""Renaming and deleting a team (issue #18's loose end): admins only, by POST with CSRF;
a rename changes only the name shown (slug, code, URLs and stack names stay); a delete is
refused with the reason while the team owns a site or machine not deleted, and otherwise
removes its memberships and invitations."""
import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Team
from accounts.team_models import TeamInUse
from sites.models import Site
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.RATE_LIMIT_CHANGES = "1000/60"


@pytest.fixture
def ops(alice, bob):
    team = Team.start("Ops people", alice)
    Membership.objects.create(team=team, user=bob, role="deployer")
    Invitation.issue(team, "carol@example.com", "viewer", alice)
    return team


def rename(client, team, name):
    return client.post(reverse("teams-rename", args=[team.code]), {"name": name})


def delete(client, team):
    return client.post(reverse("teams-delete", args=[team.code]), follow=True)


def test_an_admin_renames_the_team_and_nothing_stable_moves(ops, alice, alice_client):
    site = Site.objects.create(owner=alice, team=ops, name="blog", content="x")
    stack, url = site.stack_name, ops.get_absolute_url()
    assert rename(alice_client, ops, "Platform").url == url
    ops.refresh_from_db()
    site.refresh_from_db()
    assert (ops.name, ops.slug, ops.get_absolute_url()) == ("Platform", "ops-people", url)
    assert site.stack_name == stack
    assert "Platform" in alice_client.get(url).content.decode()


def test_a_blank_name_is_refused_and_changes_nothing(ops, alice_client):
    page = alice_client.post(reverse("teams-rename", args=[ops.code]), {"name": " "},
                             follow=True).content.decode()
    assert "This field is required." in page
    ops.refresh_from_db()
    assert ops.name == "Ops people"


@pytest.mark.parametrize("route", ["teams-rename", "teams-delete"])
def test_a_deployer_gets_403_a_stranger_404_and_a_get_405(ops, alice, bob, client,
                                                         django_user_model, route):
    url = reverse(route, args=[ops.code])
    client.force_login(bob)
    assert client.post(url, {"name": "Mine"}).status_code == 403
    assert client.get(url).status_code == 405
    client.force_login(django_user_model.objects.create_user("eve"))
    assert client.post(url, {"name": "Mine"}).status_code == 404
    ops.refresh_from_db()
    assert ops.name == "Ops people" and ops.memberships.count() == 2


@pytest.mark.parametrize("route", ["teams-rename", "teams-delete"])
def test_a_post_without_the_csrf_token_is_refused(ops, alice, route):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse(route, args=[ops.code]), {"name": "x"}).status_code == 403
    assert Team.objects.get().name == "Ops people"


def test_deleting_a_team_that_owns_a_live_site_or_machine_is_refused_with_why(
        ops, alice, alice_client):
    Site.objects.create(owner=alice, team=ops, name="blog", content="x",
                        status=Status.LIVE)
    VirtualMachine.objects.create(owner=alice, team=ops, name="box", status=Status.DELETING,
                                  instance_type="t3.micro", ssh_public_key="k",
                                  allowed_cidr="127.0.0.1/32")
    page = delete(alice_client, ops).content.decode()
    assert "Ops people still owns 2 site(s) or machine(s) (blog, box): delete them first." \
        in page
    assert ops.memberships.count() == 2 and ops.invitations.count() == 1


def test_deleting_a_team_whose_resources_are_deleted_keeps_their_history(
        ops, alice, bob, alice_client, client):
    site = Site.objects.create(owner=alice, team=ops, name="blog", content="x",
                               status=Status.DELETED)
    Deployment.objects.create(resource=site, owner=alice, team=ops, action="destroy",
                              stack_name=site.stack_name, status="succeeded")
    response = delete(alice_client, ops)
    assert response.redirect_chain[-1][0] == reverse("teams-index")
    assert "Team Ops people deleted." in response.content.decode()
    assert not Membership.objects.filter(team=ops).exists()
    assert not Invitation.objects.filter(team=ops).exists()
    site.refresh_from_db()
    assert site.team == ops  # the history still names it; no one can see the team
    client.force_login(bob)
    assert client.get(ops.get_absolute_url()).status_code == 404


def test_deleting_an_empty_team_removes_it_and_its_slug_is_free_again(ops, alice,
                                                                     alice_client):
    delete(alice_client, ops)
    assert not Team.objects.exists() and not Invitation.objects.exists()
    assert Team.start("Ops people", alice).slug == "ops-people"


def test_the_team_page_offers_rename_and_delete_to_admins_only(ops, alice, bob, client):
    client.force_login(alice)
    page = client.get(ops.get_absolute_url()).content.decode()
    assert 'id="rename-form"' in page and 'id="delete-team-form"' in page
    client.force_login(bob)
    page = client.get(ops.get_absolute_url()).content.decode()
    assert 'id="rename-form"' not in page and 'id="delete-team-form"' not in page


def in_a_thread(work, hold=1.0):
    """Run `work` in a transaction of another connection, kept open `hold` seconds after
    it; returns (started event, thread, errors)."""
    from django.db import connection, transaction

    started, errors = threading.Event(), []

    def run():
        try:
            with transaction.atomic():
                work()
                started.set()
                time.sleep(hold)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
            started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10) and not errors, errors
    return thread, errors


@pytest.mark.django_db(transaction=True)
def test_a_delete_waits_for_a_create_under_way_for_the_team_and_is_refused(
        ops, alice, queue):
    from stacks.services import request_deployment

    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's concurrent transactions")

    def create():
        site = Site.objects.create(owner=alice, team=ops, name="late", content="x")
        request_deployment(site, "create", alice)

    thread, errors = in_a_thread(create)
    with pytest.raises(TeamInUse, match=r"still owns 1 site\(s\) or machine\(s\) \(late\)"):
        ops.dissolve()
    thread.join(30)
    assert not errors and ops.memberships.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_create_for_a_team_being_deleted_waits_and_is_refused(ops, bob, queue):
    """bob's form saw him a deployer; by the time his create holds the team's lock the
    team is gone: refused, nothing left behind (no site of a team with no one in it)."""
    from django.db import transaction

    from stacks.services import DeploymentRefused, request_deployment

    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's concurrent transactions")
    thread, errors = in_a_thread(Team.objects.get(pk=ops.pk).dissolve)
    with pytest.raises(DeploymentRefused, match="no longer a deployer or admin"), \
            transaction.atomic():
        site = Site.objects.create(owner=bob, team=ops, name="late", content="x")
        request_deployment(site, "create", bob)
    thread.join(30)
    assert not errors
    assert not Site.objects.exists() and not Team.objects.exists()


def test_a_team_called_me_never_gets_the_slug_the_api_reads_as_personal(alice):
    """`team=me` in the API and `--team me` in the CLI mean "personal only": a team
    whose name slugifies to "me" gets another slug."""
    team = Team.start("Me", alice)
    assert team.slug != "me" and team.slug.startswith("me-")
