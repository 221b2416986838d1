"""Login limits: the admin's login counts like the site's, look-alike names count as one,
and wrong passwords from anywhere only slow the owner down, never lock them out."""
import re
import time

import django_rq
import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse

from accounts.loginlimits import failed, name_key, refusal

pytestmark = pytest.mark.django_db

SPELLINGS = ["alice", "ALICE", " alice ", "ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "𝒂𝒍𝒊𝒄𝒆", "Alice", "ａＬｉｃｅ"]


def login(client, url, username, password, address="198.51.100.1"):
    return client.post(url, {"username": username, "password": password},
                       REMOTE_ADDR=address)


def test_look_alike_spellings_are_one_name():
    assert {name_key(spelling) for spelling in SPELLINGS} == {name_key("alice")}
    assert name_key("alice") != name_key("alicia")


@pytest.mark.parametrize("url", ["accounts-login", "admin:login"])
def test_the_admin_login_is_limited_like_the_sites(client, admin_user, settings, url):
    settings.RATE_LIMIT_LOGIN = "3/60"
    # Two wrong passwords on one login page, one on the other: the same count.
    other = "admin:login" if url == "accounts-login" else "accounts-login"
    for page in (url, url, other):
        assert login(client, reverse(page), "admin", "wrong").status_code == 200
    response = login(client, reverse(url), "admin", "password")
    assert response.status_code == 429 and "Too many login attempts" in (
        response.content.decode())
    assert "_auth_user_id" not in client.session


def test_look_alikes_from_many_addresses_hit_the_same_back_off(client, alice, settings):
    settings.LOGIN_BACKOFF_AFTER, settings.LOGIN_BACKOFF_MAX = 3, 16
    for number, spelling in enumerate(["ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "ALICE"]):
        response = login(client, reverse("accounts-login"), spelling, "wrong",
                         address=f"203.0.113.{number}")
        assert response.status_code == 200
    login(client, reverse("admin:login"), "𝒂𝒍𝒊𝒄𝒆", "wrong", address="203.0.113.8")
    # The right password, a look-alike name, yet another address: it waits its turn.
    response = login(client, reverse("accounts-login"), "ａｌｉｃｅ", "alice-password-1",
                     address="203.0.113.9")
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert re.search(r"try again in [12] s", response.content.decode())


def test_wrong_passwords_from_anywhere_only_slow_the_owner(client, alice, settings):
    """Twenty wrong passwords from twenty addresses: the owner waits seconds, not minutes."""
    settings.LOGIN_BACKOFF_AFTER, settings.LOGIN_BACKOFF_MAX = 2, 2
    for number in range(20):
        login(client, reverse("accounts-login"), "alice", "wrong", address=f"203.0.113.{number}")
    response = login(client, reverse("accounts-login"), "alice", "alice-password-1")
    if response.status_code == 429:
        wait = int(response["Retry-After"])
        assert wait <= 2 and f"try again in {wait} s" in response.content.decode()
        time.sleep(wait)
        response = login(client, reverse("accounts-login"), "alice", "alice-password-1")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)


def test_the_back_off_doubles_up_to_its_cap(alice, settings):
    settings.LOGIN_BACKOFF_AFTER, settings.LOGIN_BACKOFF_MAX = 2, 8
    waits = []
    for failures in range(1, 8):
        failed("alice")
        request = RequestFactory().post("/login/", {"username": "alice"},
                                        REMOTE_ADDR=f"203.0.113.{failures}")
        request.user = AnonymousUser()
        assert refusal(request) is None  # this try takes the turn...
        second = refusal(request)  # ...and the next waits for it
        waits.append(int(second["Retry-After"]) if second is not None else 0)
        django_rq.get_connection("default").delete(
            f"herocool:rate:login-turn:{name_key('alice')}")
    assert waits == [0, 1, 2, 4, 8, 8, 8]


def test_the_right_password_starts_the_back_off_afresh(client, alice, settings):
    settings.LOGIN_BACKOFF_AFTER = 1
    login(client, reverse("accounts-login"), "alice", "wrong")
    login(client, reverse("accounts-login"), "alice", "alice-password-1")  # takes the turn
    client.logout()
    assert login(client, reverse("accounts-login"), "alice", "wrong").status_code == 200


def test_one_address_trying_many_names_is_limited(client, settings):
    settings.RATE_LIMIT_LOGIN_ADDRESS = "3/60"
    for name in ("ann", "ben", "cid"):
        assert login(client, reverse("accounts-login"), name, "x").status_code == 200
    response = login(client, reverse("accounts-login"), "dan", "x")
    assert response.status_code == 429
    assert "Too many login attempts from your address" in response.content.decode()
    assert login(client, reverse("accounts-login"), "dan", "x",
                 address="198.51.100.2").status_code == 200


def test_login_limits_count_the_client_behind_a_trusted_proxy(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    settings.RATE_LIMIT_LOGIN_ADDRESS = "1/60"

    def attempt(forwarded, peer="10.0.0.2"):
        return client.post(reverse("accounts-login"), {"username": "x", "password": "y"},
                           REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert (attempt("198.51.100.1"), attempt("198.51.100.2")) == (200, 200)
    assert attempt("198.51.100.1") == 429
    # From an untrusted peer the header is not believed: the peer is counted.
    assert (attempt("198.51.100.3", peer="203.0.113.5"),
            attempt("198.51.100.4", peer="203.0.113.5")) == (200, 429)
