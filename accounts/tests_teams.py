"""Teams (issue #18): invitations mailed through Django's SMTP backend to a real SMTP
server on loopback, accepted once, before they expire, only with the invited address
verified; roles managed with an admin always left; resources created for a team, counted
against the team's quotas; leaving keeps a team's resources with the team."""
import json
import re

import pytest
from django.urls import reverse

from accounts import leaving
from accounts.models import Invitation, Membership, Profile, Team
from sites.models import Site
from stacks.models import Deployment, Status
from stacks.tests.webhook_receiver import smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
HTML = {"source": "html", "html": "<p>team page</p>"}


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.HEROCOOL_BASE_URL = "http://testserver"
    settings.RATE_LIMIT_CHANGES = "1000/60"


def verified(user, email):
    user.email = email
    user.save()
    Profile.objects.update_or_create(user=user, defaults={"verified_email": email})
    return user


@pytest.fixture
def ops(alice):
    return Team.start("Ops people", alice)


def member(team, user, role):
    return Membership.objects.create(team=team, user=user, role=role)


def invite(client, team, email="bob@example.com", role="deployer"):
    return client.post(reverse("teams-invite", args=[team.code]), {"email": email,
                                                                    "role": role})


def link_in(message):
    found = re.search(r"http://testserver(/teams/join/\S+)", message.get_payload())
    assert found, message.get_payload()
    return found.group(1)


def test_creating_a_team_makes_me_its_admin(alice_client, alice):
    response = alice_client.post(reverse("teams-index"), {"name": "Ops people"})
    team = Team.objects.get()
    assert response.url == team.get_absolute_url() and team.slug == "ops-people"
    assert Membership.objects.get(team=team).role == "admin"
    assert "Ops people" in alice_client.get(reverse("teams-index")).content.decode()


def test_an_invitation_is_mailed_and_accepted_with_the_verified_address(
        alice_client, ops, bob, client, smtp_server):
    assert invite(alice_client, ops).status_code == 302
    [(recipients, message)] = smtp_server
    assert recipients == ["bob@example.com"]
    assert message["Subject"] == "Herocool: join the team Ops people"
    url = link_in(message)
    client.force_login(verified(bob, "Bob@Example.com"))
    assert "You are invited to <strong>Ops people</strong> as <strong>deployer" in \
        client.get(url).content.decode()
    assert client.post(url).url == ops.get_absolute_url()
    assert Membership.objects.get(team=ops, user=bob).role == "deployer"
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == bob and not invitation.is_pending
    assert "Invitation" not in Invitation.objects.values_list("digest", flat=True)[0]
    assert url.split("t=")[1] != invitation.digest  # only a hash of the token is kept


def test_another_or_unverified_address_is_refused(alice_client, ops, bob, client,
                                                  smtp_server, django_user_model):
    invite(alice_client, ops)
    url = link_in(smtp_server[0][1])
    carol = verified(django_user_model.objects.create_user("carol"), "carol@example.com")
    client.force_login(carol)
    assert "for another address" in client.post(url).content.decode()
    bob.email = "bob@example.com"  # his, but never verified
    bob.save()
    client.force_login(bob)
    assert "for another address" in client.post(url).content.decode()
    assert not Membership.objects.filter(user__in=[bob, carol]).exists()
    assert Invitation.objects.get().is_pending


def test_a_link_works_once(alice_client, ops, bob, client, smtp_server, django_user_model):
    invite(alice_client, ops)
    url = link_in(smtp_server[0][1])
    client.force_login(verified(bob, "bob@example.com"))
    client.post(url)
    again = client.post(url)
    assert "used already" in again.content.decode()
    Membership.objects.filter(user=bob).delete()
    assert "used already" in client.post(url).content.decode()
    assert not Membership.objects.filter(user=bob).exists()


def test_an_expired_or_withdrawn_link_is_refused(alice_client, ops, bob, client, smtp_server,
                                                 settings):
    settings.TEAM_INVITATION_MAX_AGE = -1
    invite(alice_client, ops)
    settings.TEAM_INVITATION_MAX_AGE = 3600
    invite(alice_client, ops)
    first, second = (link_in(m) for _, m in smtp_server)
    withdrawn = Invitation.objects.order_by("id").last()
    alice_client.post(reverse("teams-invitation-cancel", args=[withdrawn.code]))
    client.force_login(verified(bob, "bob@example.com"))
    for url in (first, second):
        assert "has expired" in client.post(url).content.decode()
    assert not Membership.objects.filter(user=bob).exists()


def test_only_admins_manage_members(client, ops, bob, smtp_server):
    client.force_login(bob)
    assert invite(client, ops).status_code == 404  # not his team: it does not exist
    bobs = member(ops, bob, "deployer")
    assert invite(client, ops).status_code == 403
    alices = ops.memberships.get(role="admin")
    assert client.post(reverse("teams-member-role", args=[alices.code]),
                       {"role": "viewer"}).status_code == 403
    assert client.post(reverse("teams-member-remove", args=[alices.code])).status_code == 403
    assert smtp_server == [] and ops.memberships.count() == 2
    bobs.refresh_from_db()
    assert bobs.role == "deployer"


def test_the_last_admin_can_neither_leave_nor_be_demoted(alice_client, alice, ops, bob):
    mine = ops.memberships.get(user=alice)
    page = alice_client.post(reverse("teams-member-role", args=[mine.code]),
                             {"role": "viewer"}, follow=True).content.decode()
    assert "alice is the last admin of Ops people" in page
    alice_client.post(reverse("teams-leave", args=[ops.code]))
    mine.refresh_from_db()
    assert mine.role == "admin"
    bobs = member(ops, bob, "viewer")
    alice_client.post(reverse("teams-member-role", args=[bobs.code]), {"role": "admin"})
    assert alice_client.post(reverse("teams-leave", args=[ops.code])).url == \
        reverse("teams-index")
    assert list(ops.memberships.values_list("user__username", "role")) == [("bob", "admin")]


def test_a_deployer_creates_a_site_for_the_team_and_a_viewer_cannot(client, ops, bob,
                                                                    django_user_model):
    member(ops, bob, "deployer")
    client.force_login(bob)
    form = client.get(reverse("sites-create")).content.decode()
    assert "Me (personal)" in form and 'value="ops-people"' in form
    response = client.post(reverse("sites-create"), {"name": "shared", "team": "ops-people",
                                                     **HTML})
    site = Site.objects.get(name="shared")
    assert response.url == site.get_absolute_url()
    assert site.team == ops and site.owner == bob
    assert site.stack_name.startswith(f"site-u{bob.pk}-")  # named from stable ids, as ever
    assert Deployment.objects.get().team == ops
    vic = django_user_model.objects.create_user("vic")
    member(ops, vic, "viewer")
    client.force_login(vic)
    refused = client.post(reverse("sites-create"), {"name": "mine", "team": "ops-people",
                                                    **HTML})
    assert refused.status_code == 200 and Site.objects.count() == 1


def test_the_api_creates_for_a_team_by_its_slug(client, ops, bob, django_user_model):
    member(ops, bob, "deployer")
    client.force_login(bob)
    made = client.post("/api/v1/sites/", json.dumps({"name": "shared", "team": "ops-people",
                                                     **HTML}), content_type="application/json")
    assert made.status_code == 201 and made.json()["resource"]["team"] == "ops-people"
    bob_site = client.post("/api/v1/sites/", json.dumps({"name": "own", **HTML}),
                           content_type="application/json")
    assert bob_site.json()["resource"]["team"] is None
    stranger = django_user_model.objects.create_user("eve")
    client.force_login(stranger)
    refused = client.post("/api/v1/sites/", json.dumps({"name": "x", "team": "ops-people",
                                                        **HTML}),
                          content_type="application/json")
    assert refused.status_code == 400 and "team" in refused.json()["errors"]
    assert not Site.objects.filter(owner=stranger).exists()


def test_quotas_count_per_owner_a_team_being_one(client, ops, bob, settings):
    settings.QUOTA_SITES = 1
    member(ops, bob, "deployer")
    client.force_login(bob)
    client.post(reverse("sites-create"), {"name": "personal", **HTML})
    client.post(reverse("sites-create"), {"name": "shared", "team": "ops-people", **HTML})
    assert Site.objects.filter(team=ops).count() == 1 and Site.objects.count() == 2
    full = client.post(reverse("sites-create"), {"name": "more", "team": "ops-people",
                                                 **HTML}).content.decode()
    assert "The team Ops people has reached its limit of 1 sites" in full
    mine = client.post(reverse("sites-create"), {"name": "more", **HTML}).content.decode()
    assert "You have reached your limit of 1 sites" in mine


def test_live_deployments_count_per_team(client, ops, bob, alice, settings):
    settings.QUOTA_LIVE_DEPLOYMENTS = 1
    member(ops, bob, "deployer")
    Site.objects.create(owner=alice, team=ops, name="busy", content="x")
    site = Site.objects.get()
    Deployment.objects.create(resource=site, owner=alice, team=ops, action="create",
                              stack_name=site.stack_name)
    client.force_login(bob)
    refused = client.post(reverse("sites-create"), {"name": "shared", "team": "ops-people",
                                                    **HTML}).content.decode()
    assert "The team Ops people has 1 deployments queued or running" in refused
    assert client.post(reverse("sites-create"), {"name": "own", **HTML}).status_code == 302


def test_leaving_keeps_the_teams_resources_and_ends_memberships(client, alice, bob, ops):
    member(ops, bob, "admin")
    Site.objects.create(owner=alice, name="personal", content="x", status=Status.LIVE)
    shared = Site.objects.create(owner=alice, team=ops, name="shared", content="x",
                                 status=Status.LIVE)
    assert leaving.leave(alice)
    destroys = Deployment.objects.filter(action="destroy")
    assert [d.resource.name for d in destroys] == ["personal"]
    shared.refresh_from_db()
    assert shared.status == Status.LIVE
    assert not Membership.objects.filter(user=alice).exists()
    client.force_login(bob)
    assert client.get(shared.get_absolute_url()).status_code == 200


def test_the_last_admin_of_a_team_cannot_leave(alice_client, alice, ops):
    page = alice_client.get(reverse("accounts-leave")).content.decode()
    assert "You are the last admin of Ops people" in page
    alice_client.post(reverse("accounts-leave"), {"password": "alice-password-1",
                                                  "username": "alice"})
    alice.refresh_from_db()
    assert alice.is_active and not leaving.leave(alice)
    assert Membership.objects.filter(user=alice).exists()


def test_team_pages_show_members_and_resources_to_members_only(client, ops, alice, bob):
    Site.objects.create(owner=alice, team=ops, name="shared", content="x")
    client.force_login(bob)
    assert client.get(ops.get_absolute_url()).status_code == 404
    member(ops, bob, "viewer")
    page = client.get(ops.get_absolute_url()).content.decode()
    assert "shared" in page and 'data-member="alice"' in page
    assert "invite-form" not in page  # a viewer manages nothing


def test_names_are_unique_per_owner_a_team_being_one(client, ops, alice, bob):
    member(ops, bob, "deployer")
    Site.objects.create(owner=alice, team=ops, name="blog", content="x")
    client.force_login(bob)
    assert client.post(reverse("sites-create"), {"name": "blog", **HTML}).status_code == 302
    taken = client.post(reverse("sites-create"), {"name": "blog", "team": "ops-people",
                                                  **HTML}).content.decode()
    assert "The team Ops people already has a site named blog." in taken
    assert Site.objects.filter(name="blog").count() == 2


def test_a_members_pages_read_as_many_queries_however_many_team_resources(
        client, ops, alice, bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member(ops, bob, "viewer")
    client.force_login(bob)

    def counts(n):
        for i in range(n):
            site = Site.objects.create(owner=alice, team=ops, name=f"s{n}-{i}", content="x")
            Deployment.objects.create(resource=site, owner=alice, team=ops, action="create",
                                      stack_name=site.stack_name, status="succeeded")
        out = []
        for url in (reverse("sites-index"), reverse("accounts-dashboard"),
                    reverse("stacks-activity"), ops.get_absolute_url()):
            client.get(url)  # warm
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx))
        return out

    assert counts(2) == counts(20)


def test_the_admin_shows_a_team_with_its_members_and_invitations(admin_client, ops, bob):
    member(ops, bob, "viewer")
    Invitation.issue(ops, "carol@example.com", "deployer", bob)
    page = admin_client.get(reverse("admin:accounts_team_change", args=[ops.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "carol@example.com" in text and 'value="viewer" selected' in text
    assert admin_client.get(reverse("admin:accounts_invitation_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_team_add")).status_code == 200


def test_the_api_lists_by_owner_and_the_cli_refuses_a_name_two_owners_share(
        client, ops, alice, bob):
    from herocool_cli.client import ApiError, Client

    member(ops, bob, "deployer")
    Site.objects.create(owner=bob, name="blog", content="x")
    Site.objects.create(owner=alice, team=ops, name="blog", content="x")
    client.force_login(bob)

    def owners(query):
        rows = client.get("/api/v1/sites/", query).json()["results"]
        return sorted(r["team"] or "me" for r in rows)

    assert owners({"name": "blog"}) == ["me", "ops-people"]
    assert owners({"name": "blog", "team": "me"}) == ["me"]
    assert owners({"name": "blog", "team": "ops-people"}) == ["ops-people"]

    class Local(Client):  # the CLI's client, answered by the test client
        def get(self, path, **query):
            return client.get(f"/api/v1/{path}", query).json()

    with pytest.raises(ApiError) as refused:
        Local("http://testserver", "").find("sites", "blog")
    assert "More than one site you can see is named blog" in str(refused.value.detail)
