"""The client's address: X-Forwarded-For believed only as far as trusted proxies wrote it."""
import pytest
from django.test import RequestFactory
from django.urls import reverse

from herocool_project.clientaddr import client_address

PROXY = "10.0.0.2"


def address(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.TRUSTED_PROXIES = []
    assert address("203.0.113.9") == "203.0.113.9"
    assert address(PROXY, "198.51.100.7") == PROXY  # anyone can send the header


def test_a_trusted_proxy_names_the_client(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert address(PROXY, "198.51.100.7") == "198.51.100.7"
    assert address(PROXY, " 2001:db8::7 ") == "2001:db8::7"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert address("203.0.113.9", "127.0.0.1") == "203.0.113.9"
    assert address("203.0.113.9", f"198.51.100.7, {PROXY}") == "203.0.113.9"


def test_the_list_is_walked_from_the_right_past_trusted_proxies_only(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]
    # The client sent "1.2.3.4" itself: only what our proxies appended is believed.
    chain = "1.2.3.4, 198.51.100.7, 10.9.9.9, 2001:db8:ffff::1"
    assert address(PROXY, chain) == "198.51.100.7"
    assert address(PROXY, "10.1.1.1, 10.2.2.2") == "10.1.1.1"  # all ours: the first


@pytest.mark.parametrize("forwarded", ["", "garbage", "198.51.100.7:443", "unknown",
                                       " , ", "198.51.100.7, garbage", "::ffff:zz",
                                       "198.51.100.7;for=1.2.3.4", "999.1.1.1"])
def test_malformed_headers_are_ignored(settings, forwarded):
    settings.TRUSTED_PROXIES = [PROXY]
    assert address(PROXY, forwarded) == PROXY


def test_ipv4_mapped_peers_are_read_as_ipv4(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert address("::ffff:203.0.113.9") == "203.0.113.9"
    assert address("::ffff:10.0.0.2", "::ffff:198.51.100.7") == "198.51.100.7"


def test_no_peer_address_gives_an_empty_one(settings):
    assert address("") == ""


@pytest.mark.django_db
def test_the_vm_form_defaults_to_the_client_behind_a_proxy(alice_client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    page = alice_client.get(reverse("vms-create"), REMOTE_ADDR=PROXY,
                            HTTP_X_FORWARDED_FOR="203.0.113.9").content.decode()
    assert 'value="203.0.113.9/32"' in page
    page = alice_client.get(reverse("vms-create"), REMOTE_ADDR="198.51.100.1",
                            HTTP_X_FORWARDED_FOR="203.0.113.9").content.decode()
    assert 'value="198.51.100.1/32"' in page


@pytest.mark.django_db
def test_the_vm_form_without_a_peer_address_still_renders(alice_client):
    response = alice_client.get(reverse("vms-create"), REMOTE_ADDR="")
    assert response.status_code == 200


@pytest.mark.django_db
def test_sign_ups_are_limited_per_client_behind_a_proxy(client, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.RATE_LIMIT_LOGIN = "1/60"

    def sign_up(forwarded):
        return client.post(reverse("accounts-signup"), {"username": "x"}, REMOTE_ADDR=PROXY,
                           HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert sign_up("198.51.100.1") == 200
    assert sign_up("198.51.100.1") == 429
    assert sign_up("198.51.100.2") == 200  # another client behind the same proxy
