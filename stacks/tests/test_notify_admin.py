"""Operators see webhooks without their secrets and deliveries as a read-only record."""
import pytest
from django.urls import reverse

from stacks import notify
from stacks.models import Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("op", password="op-pw-1"))
    return client


def test_operators_see_deliveries_read_only_and_never_a_secret(admin_client, alice,
                                                                 monkeypatch):
    monkeypatch.setattr(notify, "enqueue_delivery", lambda delivery: True)
    hook = Webhook.objects.create(owner=alice, url="https://hooks.example.com/a",
                                  events=["failed"])
    delivery = notify.ping(hook)
    page = admin_client.get(reverse("admin:stacks_webhook_change", args=[hook.pk]))
    assert page.status_code == 200 and hook.secret not in page.content.decode()
    listing = admin_client.get(reverse("admin:stacks_webhookdelivery_changelist"))
    assert "ping" in listing.content.decode()
    url = reverse("admin:stacks_webhookdelivery_change", args=[delivery.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"status": "delivered"}).status_code == 403
    delete = reverse("admin:stacks_webhookdelivery_delete", args=[delivery.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "pending"
