"""The Notifications page: alice manages her address and webhooks; bob, a stranger, can
neither see nor touch them."""
import pytest
from django.urls import reverse

from stacks.webhooks import NotificationSettings, Webhook
from stacks.tests.webhook_receiver import (  # noqa: F401 - fixtures
    notify_queue, receiver, run_notifications)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(alice):
    return Webhook.objects.create(owner=alice, url="https://hooks.example.com/alice",
                                  events=["failed"])


def test_it_validates_ownership(client, bob, hook, notify_queue):
    client.force_login(bob)
    assert client.get(reverse("accounts-webhook", args=[hook.code])).status_code == 404
    for name in ("accounts-webhook-delete", "accounts-webhook-ping"):
        assert client.post(reverse(name, args=[hook.code])).status_code == 404
    page = client.get(reverse("accounts-notifications")).content.decode()
    assert hook.url not in page and hook.secret not in page
    assert Webhook.objects.filter(pk=hook.pk).exists()
    assert hook.deliveries.count() == 0 and notify_queue.count == 0


def test_alice_adds_a_webhook_and_finds_its_secret_on_its_page(alice_client, alice):
    response = alice_client.post(reverse("accounts-webhook-create"), {
        "url": "https://hooks.example.com/new", "events": ["started", "failed"]})
    hook = Webhook.objects.get(owner=alice)
    assert response.status_code == 302 and response.url == reverse("accounts-webhook",
                                                                  args=[hook.code])
    assert hook.events == ["started", "failed"] and hook.secret.startswith("whsec_")
    assert hook.secret in alice_client.get(response.url).content.decode()
    assert hook.url in alice_client.get(reverse("accounts-notifications")).content.decode()


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://169.254.169.254/",
                                 "http://localhost:8000/", "ftp://example.com/"])
def test_an_address_the_fetcher_refuses_is_refused_at_once(alice_client, alice, url):
    response = alice_client.post(reverse("accounts-webhook-create"),
                                 {"url": url, "events": ["failed"]})
    assert response.status_code == 200 and 'class="invalid-feedback' in response.content.decode()
    assert not Webhook.objects.filter(owner=alice).exists()


def test_alice_deletes_her_webhook(alice_client, hook):
    response = alice_client.post(reverse("accounts-webhook-delete", args=[hook.code]))
    assert response.status_code == 302
    assert not Webhook.objects.filter(pk=hook.pk).exists()


def test_a_user_has_at_most_the_webhooks_allowed(alice_client, alice, settings):
    settings.WEBHOOKS_PER_USER = 1
    Webhook.objects.create(owner=alice, url="https://a.example.com/", events=["failed"])
    response = alice_client.post(reverse("accounts-webhook-create"), {
        "url": "https://b.example.com/", "events": ["failed"]})
    assert response.status_code == 200 and "delete one first" in response.content.decode()
    assert Webhook.objects.filter(owner=alice).count() == 1


def test_alice_sets_her_address_and_turns_failure_emails_off(alice_client, alice):
    page = alice_client.get(reverse("accounts-notifications")).content.decode()
    assert 'name="email_on_failure" class="form-check-input" id="id_email_on_failure" checked' \
        in page  # on by default
    alice_client.post(reverse("accounts-notifications"), {"email": "alice@example.com"})
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    assert not NotificationSettings.for_user(alice).email_on_failure


def test_an_invalid_address_is_refused(alice_client, alice):
    response = alice_client.post(reverse("accounts-notifications"), {"email": "not an address"})
    assert response.status_code == 200 and "Enter a valid email address" in \
        response.content.decode()
    alice.refresh_from_db()
    assert alice.email == ""


def test_a_test_delivery_and_its_answer_show_on_the_webhooks_page(
        alice_client, alice, receiver, run_notifications):
    hook = Webhook.objects.create(owner=alice, url=receiver.url, events=["failed"])
    alice_client.post(reverse("accounts-webhook-ping", args=[hook.code]))
    assert run_notifications() == 1
    page = alice_client.get(reverse("accounts-webhook", args=[hook.code])).content.decode()
    assert "delivered" in page and "HTTP 200" in page and "{&quot;seen&quot;: 1}" in page
