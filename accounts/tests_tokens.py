"""Personal access tokens: made on the account page and shown once, stored hashed,
revoked by their owner or an operator."""
import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Token

pytestmark = pytest.mark.django_db


def make(user, scopes=("read",), days=30, name="ci"):
    return Token.issue(user, name, scopes, timedelta(days=days))


def test_a_new_token_is_shown_once_and_stored_only_as_a_hash(alice_client, alice):
    response = alice_client.post(reverse("accounts-tokens"),
                                 {"name": "ci", "scopes": ["deploy"], "days": "30"})
    text = response.context["made"]["text"]
    assert text.startswith("hc_") and text in response.content.decode()
    assert "no-store" in response["Cache-Control"]  # not kept by the browser either
    token = Token.objects.get(user=alice)
    assert token.scopes == ["deploy", "read"]  # every token reads
    assert token.digest == hashlib.sha256(text.encode()).hexdigest()
    assert text not in str(Token.objects.filter(pk=token.pk).values().get())
    assert text not in alice_client.get(reverse("accounts-tokens")).content.decode()
    assert 29 <= (token.expires - timezone.now()).days <= 30


def test_find_takes_only_the_exact_text(alice):
    token, text = make(alice)
    assert Token.find(text) == token
    assert Token.find(text[:-1] + ("A" if text[-1] != "A" else "B")) is None
    assert Token.find(f"hc_{token.prefix}_") is None
    assert Token.find("Bearer junk") is None


def test_expired_and_revoked_tokens_are_not_usable(alice):
    token, _ = make(alice)
    assert token.is_usable
    Token.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    token.refresh_from_db()
    assert token.is_expired and not token.is_usable
    other, _ = make(alice, name="other")
    assert other.revoke() and not other.revoke()  # the second finds it revoked already
    assert not other.is_usable


def test_the_owner_revokes_a_token_from_the_account_page(alice_client, alice):
    token, _ = make(alice)
    response = alice_client.post(reverse("accounts-token-revoke", args=[token.code]),
                                 follow=True)
    assert "Token ci revoked." in response.content.decode()
    token.refresh_from_db()
    assert token.is_revoked


def test_it_validates_ownership_of_a_token_to_revoke(client, alice, bob):
    token, _ = make(alice)
    client.force_login(bob)
    assert client.post(reverse("accounts-token-revoke", args=[token.code])).status_code == 404
    token.refresh_from_db()
    assert not token.is_revoked


def test_a_second_live_token_with_the_same_name_is_refused(alice_client, alice):
    make(alice)
    response = alice_client.post(reverse("accounts-tokens"),
                                 {"name": "ci", "scopes": ["read"], "days": "7"})
    assert "You already have a token named ci." in response.content.decode()


def test_an_operator_sees_tokens_without_secrets_and_revokes_them(client, alice,
                                                                  django_user_model):
    token, text = make(alice)
    admin = django_user_model.objects.create_superuser("root", password="root-pass-1")
    client.force_login(admin)
    page = client.get(reverse("admin:accounts_token_changelist")).content.decode()
    assert token.prefix in page and text not in page and token.digest not in page
    detail = client.get(reverse("admin:accounts_token_change", args=[token.pk]))
    assert token.digest not in detail.content.decode()
    client.post(reverse("admin:accounts_token_changelist"),
                {"action": "revoke_tokens", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.is_revoked


def test_last_use_is_written_once_a_minute_per_address(alice, django_assert_num_queries):
    token, _ = make(alice)
    token.note_use("203.0.113.7")
    token.refresh_from_db()
    first = token.last_used_at
    with django_assert_num_queries(0):
        token.note_use("203.0.113.7")
    token.note_use("198.51.100.1")
    token.refresh_from_db()
    assert token.last_used_from == "198.51.100.1" and token.last_used_at >= first
