"""Signed-in sessions (issue #18): each login is listed with its address and browser;
the user ends one, or all the others, and those browsers are signed out; a stranger's
session cannot be ended."""
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import LoginSession

pytestmark = pytest.mark.django_db


def browser(agent, address):
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    client.post(reverse("accounts-login"), {"username": "alice", "password": "alice-password-1"})
    return client


def signed_in(client):
    return client.get(reverse("accounts-dashboard")).status_code == 200


def test_the_account_page_lists_my_sessions_with_address_and_browser(alice):
    laptop = browser("Firefox/140", "198.51.100.7")
    browser("Phone Safari", "203.0.113.9")
    page = laptop.get(reverse("accounts-account")).content.decode()
    assert "Firefox/140" in page and "198.51.100.7" in page
    assert "Phone Safari" in page and "203.0.113.9" in page
    assert page.count("this one") == 1


def test_ending_the_others_signs_them_out_and_keeps_this_one(alice):
    laptop, phone, tablet = (browser(f"agent-{n}", "198.51.100.7") for n in range(3))
    response = laptop.post(reverse("accounts-sessions-end-others"), follow=True)
    assert "2 other session(s) ended." in response.content.decode()
    assert signed_in(laptop) and not signed_in(phone) and not signed_in(tablet)
    assert LoginSession.objects.filter(user=alice).count() == 1


def test_ending_one_session(alice):
    laptop, phone = browser("laptop", "198.51.100.7"), browser("phone", "198.51.100.8")
    row = LoginSession.objects.get(user_agent="phone")
    laptop.post(reverse("accounts-session-end", args=[row.code]))
    assert signed_in(laptop) and not signed_in(phone)


def test_a_stranger_cannot_end_my_session(alice, bob):
    laptop = browser("laptop", "198.51.100.7")
    row = LoginSession.objects.get(user=alice)
    other = Client()
    other.force_login(bob)
    assert other.post(reverse("accounts-session-end", args=[row.code])).status_code == 404
    assert other.post(reverse("accounts-sessions-end-others")).status_code == 302
    assert signed_in(laptop)


def test_logging_out_forgets_the_session(alice):
    laptop = browser("laptop", "198.51.100.7")
    laptop.post(reverse("accounts-logout"))
    assert not LoginSession.objects.exists()


def test_records_of_sessions_that_are_gone_are_dropped_at_the_next_login(alice):
    from django.contrib.sessions.models import Session

    browser("old", "198.51.100.7")
    Session.objects.all().delete()  # expired and cleared (clearsessions)
    browser("new", "198.51.100.7")
    assert list(LoginSession.objects.values_list("user_agent", flat=True)) == ["new"]
