"""Two-factor sign-in (issue #18): enrolment confirmed by a TOTP computed here (RFC 6238,
not the package's code), the code step after the password, recovery codes used once,
HEROCOOL_REQUIRE_2FA for staff and for all, the admin's login, sessions older than the
enrolment signed out."""
import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def totp(secret, steps_ahead=0):
    """RFC 6238 with SHA-1, 30-second steps, 6 digits."""
    counter = int(time.time() // 30) + steps_ahead
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def enrol(client):
    """Turn two-factor on from the Account's page; (secret, recovery codes)."""
    page = client.get(reverse("accounts-2fa")).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert 'src="data:image/svg+xml;base64,' in page
    response = client.post(reverse("accounts-2fa"), {"code": totp(secret)})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", response.content.decode())
    assert len(codes) == 10
    return secret, codes


def password_step(client, username="alice", password="alice-password-1", url=None):
    return client.post(url or reverse("accounts-login"),
                       {"username": username, "password": password})


def signed_in(client):
    return client.get(reverse("accounts-dashboard")).status_code == 200


@pytest.fixture
def enrolled(alice_client):
    secret, codes = enrol(alice_client)
    alice_client.logout()
    return secret, codes


def test_the_password_alone_does_not_sign_an_enrolled_user_in(client, alice, enrolled):
    secret, _ = enrolled
    response = password_step(client)
    assert response.status_code == 302 and response.url == reverse("accounts-2fa-verify")
    assert "_auth_user_id" not in client.session and not signed_in(client)
    wrong = client.post(reverse("accounts-2fa-verify"), {"code": "000000"})
    assert "That code is not right" in wrong.content.decode() and not signed_in(client)
    # After a wrong code the device waits a second before it checks another.
    waiting = client.post(reverse("accounts-2fa-verify"), {"code": totp(secret, 1)})
    assert "Too many wrong codes: wait 1 s" in waiting.content.decode()
    time.sleep(1.1)
    # The enrolment used this step's code; the next step's is within the tolerance.
    response = client.post(reverse("accounts-2fa-verify"), {"code": totp(secret, 1)})
    assert response.status_code == 302 and response.url == reverse("accounts-dashboard")
    assert signed_in(client) and client.session["_auth_user_id"] == str(alice.pk)


def test_the_code_step_needs_a_right_password_first(client, alice, enrolled):
    secret, _ = enrolled
    password_step(client, password="wrong")
    response = client.post(reverse("accounts-2fa-verify"), {"code": totp(secret, 1)})
    assert response.status_code == 302 and response.url == reverse("accounts-login")
    assert not signed_in(client)


def test_a_pending_login_expires(client, alice, enrolled, monkeypatch):
    secret, _ = enrolled
    password_step(client)
    later = time.time() + 301
    monkeypatch.setattr("accounts.twofactor.time.time", lambda: later)
    response = client.post(reverse("accounts-2fa-verify"), {"code": totp(secret, 1)})
    assert response.url == reverse("accounts-login") and "_auth_user_id" not in client.session


def test_a_recovery_code_works_once(client, alice, enrolled):
    _, codes = enrolled
    password_step(client)
    response = client.post(reverse("accounts-2fa-verify"), {"code": codes[0].upper()},
                           follow=True)
    assert "Recovery code used: 9 left." in response.content.decode() and signed_in(client)
    client.logout()
    password_step(client)
    again = client.post(reverse("accounts-2fa-verify"), {"code": codes[0]})
    assert "That code is not right" in again.content.decode() and not signed_in(client)
    time.sleep(1.1)  # the wrong code's wait
    client.post(reverse("accounts-2fa-verify"), {"code": codes[1]})
    assert signed_in(client)


def test_new_recovery_codes_replace_the_old(alice_client, alice):
    _, old = enrol(alice_client)
    response = alice_client.post(reverse("accounts-2fa-recovery"))
    new = re.findall(r"<li>([a-z2-7]{8})</li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    alice_client.logout()
    password_step(alice_client)
    alice_client.post(reverse("accounts-2fa-verify"), {"code": old[0]})
    assert not signed_in(alice_client)
    time.sleep(1.1)  # the wrong code's wait
    alice_client.post(reverse("accounts-2fa-verify"), {"code": new[0]})
    assert signed_in(alice_client)


def test_sessions_from_before_the_enrolment_are_signed_out(alice, alice_client):
    older = Client()
    password_step(older)
    assert signed_in(older)
    enrol(alice_client)
    assert signed_in(alice_client)  # the session that enrolled was verified by its code
    assert not signed_in(older) and "_auth_user_id" not in older.session


def test_turning_it_off_needs_the_password(alice_client, alice):
    enrol(alice_client)
    alice_client.post(reverse("accounts-2fa-disable"), {"password": "wrong"})
    assert "twofactor-on" in alice_client.get(reverse("accounts-2fa")).content.decode()
    alice_client.post(reverse("accounts-2fa-disable"), {"password": "alice-password-1"})
    alice_client.logout()
    password_step(alice_client)
    assert signed_in(alice_client)


def test_required_for_staff_sends_staff_to_enrol_first_and_not_others(
        client, alice, admin_user, settings):
    settings.HEROCOOL_REQUIRE_2FA = "staff"
    password_step(client, "admin", "password", url=reverse("admin:login"))
    for url in (reverse("accounts-dashboard"), reverse("admin:index"), "/sites/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("accounts-2fa"), url
    assert client.get("/api/v1/sites/").status_code == 403
    other = Client()
    password_step(other)
    assert signed_in(other)  # alice is no staff


def test_admin_login_with_two_factor_required(client, admin_user, settings):
    settings.HEROCOOL_REQUIRE_2FA = "staff"
    password_step(client, "admin", "password", url=reverse("admin:login"))
    secret, _ = enrol(client)
    assert client.get(reverse("admin:index")).status_code == 200
    client.logout()
    response = password_step(client, "admin", "password", url=reverse("admin:login"))
    assert response.status_code == 302 and response.url == reverse("accounts-2fa-verify")
    assert client.get(reverse("admin:index")).status_code == 302  # to the admin's login
    response = client.post(reverse("accounts-2fa-verify"), {"code": totp(secret, 1)})
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_required_for_all_sends_a_new_user_to_enrol(client, settings):
    settings.HEROCOOL_REQUIRE_2FA = "all"
    client.post(reverse("accounts-signup"), {
        "username": "carol", "email": "carol@example.com",
        "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"})
    response = client.get(reverse("accounts-dashboard"))
    assert response.status_code == 302 and response.url == reverse("accounts-2fa")
    page = client.get(reverse("accounts-2fa")).content.decode()
    assert "This platform requires two-factor authentication" in page
    enrol(client)
    assert signed_in(client)
    response = client.post(reverse("accounts-2fa-disable"), {"password": "a-long-passphrase-9"},
                           follow=True)
    assert "required on this platform" in response.content.decode()


def test_api_tokens_are_not_asked_for_a_code(alice, enrolled, settings, client):
    from datetime import timedelta

    from accounts.models import Token

    settings.HEROCOOL_REQUIRE_2FA = "all"
    _, text = Token.issue(alice, "ci", ["read"], timedelta(days=1))
    response = client.get("/api/v1/sites/", HTTP_AUTHORIZATION=f"Bearer {text}")
    assert response.status_code == 200


def test_operators_see_devices_in_the_admin_but_never_their_secrets(alice_client, alice,
                                                                    admin_client):
    secret, codes = enrol(alice_client)
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=alice)
    pages = [admin_client.get(reverse("admin:otp_totp_totpdevice_changelist")),
             admin_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])),
             admin_client.get(reverse("admin:otp_static_staticdevice_change",
                                      args=[StaticDevice.objects.get(user=alice).pk]))]
    assert all(page.status_code == 200 for page in pages)
    text = "".join(page.content.decode() for page in pages)
    assert "alice" in text and device.key not in text and codes[0] not in text
    config = admin_client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk]))
    assert config.status_code == 403
