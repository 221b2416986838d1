"""Addresses and passwords (issue #18), with every email sent through Django's SMTP
backend to a real SMTP server on loopback: the sign-up's verification link, a change of
address, password change, and reset (a link used once, an expired one refused, only to a
verified address, within the login limits)."""
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse

from accounts.models import LoginSession, Profile
from stacks.tests.webhook_receiver import smtp_server  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-passphrase-9"


def link_in(message, path):
    """The first link in a received message whose path starts with `path` (as a path)."""
    found = re.search(r"http://testserver(" + re.escape(path) + r"\S*)", message.get_payload())
    assert found, message.get_payload()
    return found.group(1)


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.HEROCOOL_BASE_URL = "http://testserver"


def verify_alice(alice, email="alice@example.com"):
    alice.email = email
    alice.save()
    Profile.objects.create(user=alice, verified_email=email)


def test_sign_up_asks_for_an_address_and_mails_a_link_that_verifies_it(client, smtp_server,
                                                                       django_user_model):
    response = client.post(reverse("accounts-signup"), {
        "username": "carol", "email": "carol@example.com",
        "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    [(recipients, message)] = smtp_server
    assert recipients == ["carol@example.com"]
    assert message["Subject"] == "Herocool: confirm your email address"
    carol = django_user_model.objects.get(username="carol")
    assert carol.email == "carol@example.com" and not Profile.email_is_verified(carol)
    page = client.get(link_in(message, reverse("accounts-email-verify")), follow=True)
    assert "carol@example.com is confirmed" in page.content.decode()
    assert Profile.email_is_verified(carol)


def test_sign_up_without_an_address_is_refused(client, smtp_server):
    response = client.post(reverse("accounts-signup"), {
        "username": "carol", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert smtp_server == []


def test_a_link_for_an_old_address_does_not_verify_the_new_one(alice_client, alice,
                                                             smtp_server):
    alice_client.post(reverse("accounts-notifications"), {"email": "alice@example.com"})
    first = link_in(smtp_server[0][1], reverse("accounts-email-verify"))
    alice_client.post(reverse("accounts-notifications"), {"email": "alice@elsewhere.example"})
    assert [r for r, _ in smtp_server] == [["alice@example.com"], ["alice@elsewhere.example"]]
    page = alice_client.get(first, follow=True).content.decode()
    assert "invalid or has expired" in page
    alice.refresh_from_db()
    assert not Profile.email_is_verified(alice)
    alice_client.get(link_in(smtp_server[1][1], reverse("accounts-email-verify")))
    assert Profile.email_is_verified(alice)


def test_an_expired_or_forged_verification_link_is_refused(alice_client, alice, smtp_server,
                                                         settings):
    alice_client.post(reverse("accounts-notifications"), {"email": "alice@example.com"})
    url = link_in(smtp_server[0][1], reverse("accounts-email-verify"))
    assert "invalid" in alice_client.get(url[:-3] + "xyz", follow=True).content.decode()
    settings.EMAIL_VERIFY_MAX_AGE = -1  # every link is past its age
    assert "invalid" in alice_client.get(url, follow=True).content.decode()
    assert not Profile.email_is_verified(alice)


def test_password_change_keeps_this_session_and_ends_the_others(client, alice):
    from django.test import Client

    other = Client()
    other.post(reverse("accounts-login"), {"username": "alice", "password": "alice-password-1"})
    client.post(reverse("accounts-login"), {"username": "alice", "password": "alice-password-1"})
    assert LoginSession.objects.filter(user=alice).count() == 2
    response = client.post(reverse("accounts-password-change"), {
        "old_password": "alice-password-1", "new_password1": PASSWORD,
        "new_password2": PASSWORD}, follow=True)
    assert "Password changed; 1 other session(s) ended." in response.content.decode()
    assert client.get(reverse("accounts-dashboard")).status_code == 200
    assert other.get(reverse("accounts-dashboard")).status_code == 302
    assert LoginSession.objects.filter(user=alice).count() == 1


def request_reset(client, email):
    return client.post(reverse("accounts-password-reset"), {"email": email})


def test_a_reset_link_sets_a_new_password_once(client, alice, smtp_server):
    verify_alice(alice)
    assert request_reset(client, "alice@example.com").status_code == 302
    [(recipients, message)] = smtp_server
    assert recipients == ["alice@example.com"]
    url = client.get(link_in(message, "/password-reset/")).url  # Django hides the token
    response = client.post(url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    again = client.get(link_in(message, "/password-reset/"), follow=True)
    assert "it was used already or has expired" in again.content.decode()
    assert client.login(username="alice", password=PASSWORD)


def test_an_expired_reset_link_is_refused(client, alice, smtp_server, settings):
    verify_alice(alice)
    request_reset(client, "alice@example.com")
    [(_, message)] = smtp_server
    later = default_token_generator._now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT
                                                        + 1)
    with mock.patch.object(type(default_token_generator), "_now", return_value=later):
        page = client.get(link_in(message, "/password-reset/"), follow=True)
    assert "it was used already or has expired" in page.content.decode()
    alice.refresh_from_db()
    assert alice.check_password("alice-password-1")


def test_no_reset_mail_to_an_address_never_verified(client, alice, smtp_server):
    alice.email = "alice@example.com"
    alice.save()
    assert request_reset(client, "alice@example.com").status_code == 302  # says nothing
    assert smtp_server == []


def test_reset_requests_are_limited_per_address_asked_for(client, alice, smtp_server,
                                                        settings):
    verify_alice(alice)
    settings.RATE_LIMIT_LOGIN = "2/60"
    for number in range(2):
        response = client.post(reverse("accounts-password-reset"),
                               {"email": "alice@example.com"}, REMOTE_ADDR=f"203.0.113.{number}")
        assert response.status_code == 302
    response = client.post(reverse("accounts-password-reset"), {"email": "ALICE@example.com"},
                           REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert len(smtp_server) == 2


def test_reset_links_start_with_the_configured_address_not_the_host_header(
        client, alice, smtp_server, settings):
    settings.HEROCOOL_BASE_URL = "https://herocool.example.net"
    settings.ALLOWED_HOSTS = ["*"]
    verify_alice(alice)
    client.post(reverse("accounts-password-reset"), {"email": "alice@example.com"},
                HTTP_HOST="evil.example")
    body = smtp_server[0][1].get_payload()
    assert "https://herocool.example.net/password-reset/" in body and "evil" not in body


def test_sign_up_succeeds_when_the_mail_server_is_down(client, settings):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    response = client.post(reverse("accounts-signup"), {
        "username": "carol", "email": "carol@example.com",
        "password1": PASSWORD, "password2": PASSWORD}, follow=True)
    page = response.content.decode()
    assert "Welcome, carol." in page and "could not send the link" in page
