"""Accounts: sign up, log in with its rate limit, the dashboard."""
import pytest
from django.urls import reverse

from sites.models import Site
from stacks.models import Deployment

pytestmark = pytest.mark.django_db


def test_sign_up_logs_in_and_shows_an_empty_dashboard(client):
    response = client.post(reverse("accounts-signup"), {
        "username": "carol", "email": "carol@example.com", "password1": "a-long-passphrase-9",
        "password2": "a-long-passphrase-9"}, follow=True)
    page = response.content.decode()
    assert "Welcome, carol." in page
    assert "You have no sites yet" in page and "You have no virtual machines" in page


def test_sign_up_errors_are_shown_on_the_form(client, alice):
    response = client.post(reverse("accounts-signup"), {
        "username": "alice", "password1": "x", "password2": "y"})
    page = response.content.decode()
    assert "A user with that username already exists." in page
    assert "The two password fields didn" in page


def test_login_attempts_are_rate_limited(client, alice, settings):
    settings.RATE_LIMIT_LOGIN = "3/60"
    for _ in range(3):
        response = client.post(reverse("accounts-login"),
                               {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("accounts-login"),
                           {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session  # even the right password waits


def test_login_works(client, alice):
    response = client.post(reverse("accounts-login"),
                           {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)


def test_changes_are_rate_limited_per_user(alice_client, alice, settings):
    settings.RATE_LIMIT_CHANGES = "2/60"
    for name in ("one", "two"):
        alice_client.post(reverse("sites-create"),
                          {"name": name, "source": "html", "html": "<p>x</p>"})
    response = alice_client.post(reverse("sites-create"),
                                 {"name": "three", "source": "html", "html": "<p>x</p>"})
    assert response.status_code == 429 and "Too many changes" in response.content.decode()
    assert sorted(Site.objects.values_list("name", flat=True)) == ["one", "two"]
    assert alice_client.get(reverse("sites-index")).status_code == 200  # reading is fine


def test_dashboard_lists_my_activity_only(alice_client, alice, bob):
    mine = Site.objects.create(owner=alice, name="mine", content="x")
    theirs = Site.objects.create(owner=bob, name="theirs", content="x")
    for site in (mine, theirs):
        Deployment.objects.create(resource=site, owner=site.owner, action="create",
                                  stack_name=site.stack_name, requested_by=site.owner)
    page = alice_client.get(reverse("accounts-dashboard")).content.decode()
    assert "create mine" in page and "theirs" not in page
