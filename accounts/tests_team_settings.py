"""Renaming and deleting a team (issue #18's loose end): admins only, by POST with CSRF;
a rename changes only the name shown (slug, code, URLs and stack names stay); a delete is
refused with the reason while the team owns a site or machine not deleted, and otherwise
removes its memberships and invitations."""
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Team
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
