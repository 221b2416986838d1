"""Sessions read with plain SQL (issues #11, #13) behave as Django's database sessions:
a live one is read, an expired or unknown one is not, and logging out ends it."""
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from herocool_project.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_live_session_is_read_and_an_expired_or_unknown_one_is_not():
    store = SessionStore()
    store["who"] = "alice"
    store.save()
    assert SessionStore(store.session_key)["who"] == "alice"
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(store.session_key)
    assert "who" not in expired and expired.session_key is None
    assert "who" not in SessionStore("x" * 32)


def test_signing_in_and_out_through_the_pages(alice_client):
    assert alice_client.get(reverse("accounts-dashboard")).status_code == 200
    alice_client.post(reverse("accounts-logout"))
    assert alice_client.get(reverse("accounts-dashboard")).status_code == 302
