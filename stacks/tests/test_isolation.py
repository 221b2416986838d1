"""Every URL of the app, walked as a stranger and as an anonymous visitor.

The list comes from the URL resolver, so a new view is covered without editing this
test; a route it cannot fill in fails the test instead of being skipped."""
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Invitation, LoginSession, SshKey, Team, Token
from sites.models import Site
from stacks.logwriter import append_log
from stacks.models import Deployment, Status, Webhook
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db

PUBLIC = {"accounts-login", "accounts-signup", "accounts-logout",
          # For machines, with their own tests (herocool_project/tests/): no login,
          # nothing of any user's; /metrics is 404 without a token or staff.
          "health-live", "health-ready", "metrics",
          # The API's OpenAPI document: the same for everyone, nothing of any user's.
          "api-schema",
          # Issue #18: the steps of signing in and recovering an account, before any
          # login (accounts/tests_account.py): the code step needs a pending login,
          # the links are signed.
          "accounts-2fa-verify", "accounts-email-verify", "accounts-password-reset",
          "accounts-password-reset-done", "accounts-password-reset-confirm",
          "accounts-password-reset-complete"}
SECRET = "alice-secret-content"
ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIApFwzNszzi00G50S8WhGMDunfIzzvBX075dna3MNWH4 "
           "alice@laptop")


def app_routes(patterns=None, prefix=""):
    """(name, route) of every named view outside the admin."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            yield from app_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, prefix + str(entry.pattern)


@pytest.fixture
def alices_things(alice):
    site = Site.objects.create(owner=alice, name="private", content=SECRET,
                               status=Status.FAILED, last_error=SECRET,
                               outputs={"website_url": f"http://{SECRET}/"})
    vm = VirtualMachine.objects.create(owner=alice, name="private-vm", instance_type="t3.micro",
                                       ssh_public_key=f"ssh-ed25519 AAAA {SECRET}",
                                       allowed_cidr="127.0.0.1/32", status=Status.LIVE)
    dep = Deployment.objects.create(resource=site, owner=alice, action="update",
                                    stack_name=site.stack_name, status="running")
    append_log(dep.pk, SECRET)
    hook = Webhook.objects.create(owner=alice, url=f"https://{SECRET}.example.com/",
                                  events=["failed"])
    token, _ = Token.issue(alice, SECRET, ["read"], timedelta(days=1))
    key = SshKey.objects.create(user=alice, name=SECRET, public_key=ED25519)
    session = LoginSession.objects.create(user=alice, session_key="alice-session",
                                          user_agent=SECRET)
    team = Team.start(SECRET, alice)  # issue #18: her team, its invitation
    invitation, _ = Invitation.issue(team, f"{SECRET}@example.com", "viewer", alice)
    return {"teams-member-": team.memberships.get().code,
            "teams-invitation-": invitation.code, "teams-": team.code,
            "accounts-key-": key.code, "accounts-session-": session.code,
            "sites-": site.code, "vms-": vm.code, "stacks-": dep.code,
            "api-sites-": site.code, "api-vms-": vm.code, "api-deployments-": dep.code,
            "accounts-webhook": hook.code, "accounts-token": token.code}


def urls_to_visit(things):
    for name, route in app_routes():
        if name in PUBLIC:
            continue
        if "<uuid:code>" in route:
            code = next(c for prefix, c in things.items() if name.startswith(prefix))
            route = route.replace("<uuid:code>", str(code))
        assert "<" not in route, f"the isolation test cannot fill in {route} ({name})"
        yield name, "/" + route


def test_the_walk_covers_the_app(alices_things):
    names = {name for name, _ in urls_to_visit(alices_things)}
    assert {"sites-detail", "vms-update", "stacks-deployment-cancel",
            "stacks-deployment-log", "accounts-dashboard", "accounts-account",
            "accounts-key-delete", "accounts-session-end", "accounts-leave",
            "accounts-2fa", "accounts-2fa-disable", "teams-detail", "teams-member-role",
            "teams-invitation-cancel", "teams-leave"} <= names


def test_strangers_get_404_or_their_own_empty_pages(client, alice, bob, alices_things,
                                                    settings):
    settings.RATE_LIMIT_CHANGES = "1000/60"  # the walk's POSTs are more than a minute's
    client.force_login(bob)
    for name, url in urls_to_visit(alices_things):
        for method in (client.get, client.post):
            response = method(url)
            # The API takes JSON (and multipart for sites, whose folder is a file): a
            # form POST to a list is a 415, or a 400 for bob's own empty site.
            assert response.status_code in (200, 302, 404, 405, 415) or \
                (name == "api-sites-list" and response.status_code == 400), (name, url)
            assert SECRET.encode() not in response.content, (name, url)
            if "<uuid" in next(r for n, r in app_routes() if n == name):
                assert response.status_code in (404, 405), (name, url, response.status_code)
    assert Deployment.objects.count() == 1
    assert Deployment.objects.get().status == "running"
    assert SshKey.objects.filter(user=alice).count() == 1
    assert LoginSession.objects.filter(user=alice).count() == 1
    assert Team.objects.get().memberships.get().user == alice
    assert Invitation.objects.get().is_pending
    alice.refresh_from_db()
    assert alice.is_active


def test_anonymous_visitors_are_sent_to_log_in(client, alices_things):
    for name, url in urls_to_visit(alices_things):
        for method in (client.get, client.post):
            response = method(url)
            if name.startswith("api-"):  # the API says 401, for scripts, not a redirect
                assert response.status_code == 401, (name, url)
                continue
            assert response.status_code in (302, 405), (name, url)
            if response.status_code == 302:
                assert response.url.startswith("/login/"), (name, url)
            assert SECRET.encode() not in response.content
    assert Deployment.objects.count() == 1
