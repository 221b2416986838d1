"""The isolation walk with teams (issue #18): every resource URL (sites, VMs, deployments,
the API) × {owner, viewer, deployer, admin, stranger, anonymous}, each answering exactly
as the role table says: what the user may do is not refused (no 403/404), what they see
but may not do is a 403, what they may not see is a 404 (and shows nothing of it),
anonymous visitors are sent to log in (the API: 401).

alice owns personal things; the team's things were made by alice too, but she is not
in the team: making a team resource gives no right to it once out of the team."""
import pytest
from django.db import transaction
from django.urls import reverse

from accounts.models import Invitation, Membership, Team
from sites.models import Site
from stacks.logwriter import append_log
from stacks.models import Deployment, Status
from stacks.permissions import DELETE, DEPLOY, MANAGE, VIEW
from vms.models import VirtualMachine

from .test_isolation import SECRET, app_routes

pytestmark = pytest.mark.django_db

# What each method of each resource URL needs; a method not named is a 405 for everyone.
# A page that only shows (no require_POST) answers a POST as a GET.
SITE_AND_VM = {
    "detail": {"GET": VIEW, "POST": VIEW}, "update": {"GET": DEPLOY, "POST": DEPLOY},
    "delete": {"GET": DELETE, "POST": DELETE}, "refresh": {"POST": DEPLOY},
    "retry": {"POST": DEPLOY}, "expiry": {"POST": DELETE},
}
SITE_ONLY = {"rollback": {"POST": DEPLOY}, "release-diff": {"GET": VIEW, "POST": VIEW},
             "domain-add": {"POST": DEPLOY}, "domain-verify": {"POST": DEPLOY},
             "domain-remove": {"POST": DEPLOY}}
API_RESOURCE = {
    "detail": {"GET": VIEW, "PATCH": DEPLOY, "DELETE": DELETE},
    "deployments": {"GET": VIEW}, "expiry": {"POST": DELETE}, "preview": {"POST": DEPLOY},
    "refresh": {"POST": DEPLOY}, "retry": {"POST": DEPLOY},
}
NEEDS = {
    **{f"sites-{k}": v for k, v in {**SITE_AND_VM, **SITE_ONLY}.items()},
    **{f"vms-{k}": v for k, v in SITE_AND_VM.items()},
    "vms-stop": {"POST": DEPLOY}, "vms-start": {"POST": DEPLOY},
    "vms-reboot": {"POST": DEPLOY}, "vms-console": {"GET": VIEW},
    **{f"api-sites-{k}": v for k, v in API_RESOURCE.items()},
    "api-sites-releases": {"GET": VIEW}, "api-sites-rollback": {"POST": DEPLOY},
    **{f"api-vms-{k}": v for k, v in API_RESOURCE.items()},
    "stacks-deployment": {"GET": VIEW, "POST": VIEW},
    "stacks-deployment-log": {"GET": VIEW, "POST": VIEW},
    "stacks-deployment-cancel": {"POST": DEPLOY}, "stacks-deployment-apply": {"POST": DEPLOY},
    "api-deployments-detail": {"GET": VIEW}, "api-deployments-log": {"GET": VIEW},
    "api-deployments-cancel": {"POST": DEPLOY}, "api-deployments-apply": {"POST": DEPLOY},
}
# With no release or domain to name, an allowed rollback, diff or domain verification
# finds none: a 404 after the permission check.
NOTHING_TO_FIND = {"sites-rollback", "sites-release-diff", "sites-domain-verify",
                   "sites-domain-remove"}
ALLOWED = {"owner": {VIEW, DEPLOY, DELETE}, "viewer": {VIEW}, "deployer": {VIEW, DEPLOY},
           "admin": {VIEW, DEPLOY, DELETE}}
PREFIXES = ("sites-", "vms-", "stacks-deployment", "api-sites-", "api-vms-",
            "api-deployments-")


def resource_routes():
    for name, route in app_routes():
        if "<uuid:code>" in route and name.startswith(PREFIXES):
            assert name in NEEDS, f"decide what {name} needs (view, deploy or delete)"
            yield name, route


def things_of(owner, team=None):
    site = Site.objects.create(owner=owner, team=team, name="private", content=SECRET,
                               status=Status.FAILED, last_error=SECRET)
    vm = VirtualMachine.objects.create(owner=owner, team=team, name="private-vm",
                                       instance_type="t3.micro", status=Status.LIVE,
                                       ssh_public_key=f"ssh-ed25519 AAAA {SECRET}",
                                       allowed_cidr="127.0.0.1/32")
    dep = Deployment.objects.create(resource=site, owner=owner, team=team, action="update",
                                    stack_name=site.stack_name, status="running")
    append_log(dep.pk, SECRET)
    return {"sites-": site.code, "vms-": vm.code, "stacks-": dep.code,
            "api-sites-": site.code, "api-vms-": vm.code, "api-deployments-": dep.code}


@pytest.fixture
def world(django_user_model, queue, settings):
    settings.RATE_LIMIT_CHANGES = "1000/60"  # the walk's POSTs are more than a minute's
    users = {name: django_user_model.objects.create_user(name)
             for name in ("alice", "vic", "dave", "ada", "bob")}
    team = Team.objects.create(name="ops", slug="ops")
    for name, role in (("vic", "viewer"), ("dave", "deployer"), ("ada", "admin")):
        Membership.objects.create(team=team, user=users[name], role=role)
    return users, {"personal": things_of(users["alice"]),
                   "team": things_of(users["alice"], team)}


def url_of(name, route, things):
    code = next(c for prefix, c in things.items() if name.startswith(prefix))
    return "/" + route.replace("<uuid:code>", str(code))


def ask(client, method, url):
    call = getattr(client, method.lower())
    if method in ("PATCH", "DELETE"):
        return call(url, content_type="application/json", data="{}")
    return call(url)


def expected(need, role, visible):
    """The status class the role table gives: "ok", 403, 404 or 405."""
    if need is None:
        return 405
    if not visible:
        return 404
    return "ok" if need in ALLOWED[role] else 403


def walk(client, role, things, visible):
    for name, route in resource_routes():
        url = url_of(name, route, things)
        for method in ("GET", "POST", "PATCH", "DELETE"):
            if not name.startswith("api-") and method in ("PATCH", "DELETE"):
                continue
            want = expected(NEEDS[name].get(method), role, visible)
            got = ask(client, method, url).status_code
            if want == "ok":
                assert got not in (401, 403, 405) and (got != 404 or name in
                                                       NOTHING_TO_FIND), (role, method, url, got)
            else:
                assert got == want, (role, name, method, url, got, want)


@pytest.mark.parametrize("role, user, kind", [
    ("owner", "alice", "personal"), ("viewer", "vic", "team"), ("deployer", "dave", "team"),
    ("admin", "ada", "team")])
def test_each_role_gets_exactly_what_the_table_allows(client, world, role, user, kind):
    users, things = world
    client.force_login(users[user])
    walk(client, role, things[kind], visible=True)


@pytest.mark.parametrize("user, kind", [
    ("alice", "team"), ("vic", "personal"), ("dave", "personal"), ("ada", "personal"),
    ("bob", "personal"), ("bob", "team")])
def test_what_a_user_may_not_view_is_a_404_showing_nothing(client, world, user, kind):
    users, things = world
    client.force_login(users[user])
    walk(client, "stranger", things[kind], visible=False)
    for name, route in resource_routes():
        assert SECRET.encode() not in client.get(url_of(name, route, things[kind])).content


def test_a_viewers_forged_posts_change_nothing(client, world):
    users, things = world
    client.force_login(users["vic"])
    before = list(Deployment.objects.values_list("code", "status"))
    walk(client, "viewer", things["team"], visible=True)
    assert list(Deployment.objects.values_list("code", "status")) == before
    assert not VirtualMachine.objects.exclude(expires_at=None).exists()


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    _, things = world
    for name, route in resource_routes():
        url = url_of(name, route, things["team"])
        for method in ("GET", "POST"):
            got = ask(client, method, url)
            if name.startswith("api-"):
                assert got.status_code == 401, (name, method)
            else:
                assert got.status_code == 302 and got.url.startswith("/login/"), (name, method)


def test_a_403_page_says_why(client, world):
    users, things = world
    client.force_login(users["vic"])
    page = client.post(f"/sites/{things['team']['sites-']}/refresh/")
    assert page.status_code == 403
    assert "Your role in the team ops does not let you deploy or change private" in \
        page.content.decode()


def test_lists_show_the_teams_resources_to_members_only(client, world):
    users, things = world
    team_site, her_site = things["team"]["sites-"], things["personal"]["sites-"]
    for user, sees in (("vic", {team_site}), ("ada", {team_site}), ("bob", set()),
                       ("alice", {her_site})):
        client.force_login(users[user])
        page = client.get(reverse("sites-index")).content.decode()
        assert {c for c in (team_site, her_site) if str(c) in page} == sees, user
        assert ('title="Team">ops</span>' in page) == (team_site in sees), user
        api = client.get("/api/v1/sites/").json()
        rows = api["results"] if isinstance(api, dict) else api
        assert {r["code"] for r in rows} == {str(c) for c in sees}, user


# The team's own routes: what each needs in the team the URL names (through its code, a
# member's or an invitation's). Every /teams/ route with a code must be here.
TEAM_NEEDS = {
    "teams-detail": {"GET": VIEW, "POST": VIEW}, "teams-invite": {"POST": MANAGE},
    "teams-leave": {"POST": VIEW}, "teams-rename": {"POST": MANAGE},
    "teams-delete": {"POST": MANAGE}, "teams-member-role": {"POST": MANAGE},
    "teams-member-remove": {"POST": MANAGE}, "teams-invitation-cancel": {"POST": MANAGE},
}
TEAM_ROLES = {"viewer": {VIEW}, "deployer": {VIEW, DEPLOY}, "admin": {VIEW, DEPLOY, MANAGE}}


def team_routes():
    for name, route in app_routes():
        if "<uuid:code>" in route and name.startswith("teams-"):
            assert name in TEAM_NEEDS, f"decide what {name} needs (view or manage)"
            yield name, route


@pytest.fixture
def team_codes(world):
    users, _ = world
    team = Team.objects.get(slug="ops")
    invitation, _ = Invitation.issue(team, "carol@example.com", "viewer", users["ada"])
    return {"teams-member-": team.memberships.get(user=users["dave"]).code,
            "teams-invitation-": invitation.code, "teams-": team.code}


@pytest.mark.parametrize("role, user", [("viewer", "vic"), ("deployer", "dave"),
                                        ("admin", "ada"), ("stranger", "bob"),
                                        ("stranger", "alice"), ("anonymous", None)])
def test_each_team_route_answers_each_role_as_the_table_says(client, world, team_codes,
                                                             role, user):
    """Each request's effects are rolled back, so a leave or a delete does not change
    what the next route finds."""
    users, _ = world
    if user:
        client.force_login(users[user])
    for name, route in team_routes():
        url = url_of(name, route, team_codes)
        for method in ("GET", "POST"):
            need = TEAM_NEEDS[name].get(method)
            with transaction.atomic():
                got = ask(client, method, url)
                transaction.set_rollback(True)
            if role == "anonymous":
                assert got.status_code == 302 and got.url.startswith("/login/"), (name, method)
            elif need is None:
                assert got.status_code == 405, (role, name, method, got.status_code)
            elif role == "stranger":
                assert got.status_code == 404, (role, name, method, got.status_code)
            else:
                want = "ok" if need in TEAM_ROLES[role] else 403
                assert (got.status_code not in (403, 404, 405)) if want == "ok" else \
                    got.status_code == 403, (role, name, method, got.status_code)
    assert Team.objects.get(slug="ops").memberships.count() == 3
