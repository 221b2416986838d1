"""A monthly budget holds on every path that can grow what a user pays for: the forms,
the API, retry, preview-apply and the admin's actions (all through request_deployment),
refused before anything is queued, with a warning from 80%.

Local capacity is priced at $10 per GB of memory a month here: a t3.micro (512 MB) costs
$5, a t3.small (768 MB) $7.50, a t3.medium (1 GB) $10."""
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from stacks import services
from stacks.budget import UserBudget
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db
OVER = "this would bring your monthly estimate to"


@pytest.fixture(autouse=True)
def priced(settings):
    settings.HEROCOOL_LOCAL_PRICE_PER_GB_RAM_MONTH = "10"
    settings.HEROCOOL_DEFAULT_BUDGET_USD = "12"
    settings.QUOTA_VM_MEMORY_MB = 100_000  # the budget, not the memory quota, is tested


def machine(owner, keys, name, instance_type="t3.micro", status=Status.LIVE, host=None):
    return VirtualMachine.objects.create(
        owner=owner, name=name, instance_type=instance_type, target="local",
        ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32", status=status,
        host=host)


def create_form(keys, name, instance_type):
    return {"name": name, "instance_type": instance_type,
            "ssh_public_key": keys["ed25519"][0], "allowed_cidr": "127.0.0.1/32"}


def test_a_create_past_the_budget_is_refused_on_the_form(alice_client, alice, keys):
    machine(alice, keys, "first", "t3.small")  # $7.50
    response = alice_client.post(reverse("vms-create"), create_form(keys, "b", "t3.small"))
    page = response.content.decode()
    assert ("This would bring your monthly estimate to $15.00, $3.00 over your budget of "
            "$12.00") in page
    assert list(VirtualMachine.objects.values_list("name", flat=True)) == ["first"]
    assert not Deployment.objects.exists()


def test_a_create_within_the_budget_is_queued_with_a_warning_from_80_percent(
        alice_client, alice, keys, host_queue):
    machine(alice, keys, "first", "t3.micro")  # $5
    response = alice_client.post(reverse("vms-create"), create_form(keys, "b", "t3.micro"),
                                 follow=True)
    page = response.content.decode()
    assert VirtualMachine.objects.filter(name="b").exists()
    assert "Your monthly estimate is now $10.00, 83% of your budget of $12.00." in page


def test_an_update_to_a_dearer_type_is_refused_and_changes_nothing(alice_client, alice,
                                                                   keys):
    box = machine(alice, keys, "box", "t3.micro")
    machine(alice, keys, "other", "t3.micro")
    response = alice_client.post(reverse("vms-update", args=[box.code]), {
        "instance_type": "t3.medium", "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "127.0.0.1/32"})
    assert "$15.00, $3.00 over your budget of $12.00" in response.content.decode()
    box.refresh_from_db()
    assert box.instance_type == "t3.micro" and box.status == Status.LIVE
    assert not Deployment.objects.exists()


def test_a_cheaper_change_is_allowed_even_over_budget(alice, keys, host_queue):
    box = machine(alice, keys, "box", "t3.medium")
    machine(alice, keys, "other", "t3.medium")  # $20 already: over the $12
    dep = services.request_deployment(box, Deployment.Action.UPDATE, alice,
                                      params={**box.proposed(), "instance_type": "t3.micro"})
    assert dep.action == "update" and "125%" in dep.budget_warning


def test_retry_of_a_failed_create_is_refused_past_the_budget(alice, keys, settings):
    failed = machine(alice, keys, "failed", "t3.small", status=Status.FAILED)
    Deployment.objects.create(resource=failed, owner=alice, action="create",
                              stack_name=failed.stack_name, status="failed")
    machine(alice, keys, "other", "t3.small")
    with pytest.raises(services.DeploymentRefused, match="\\$3.00 over your budget"):
        services.retry(failed, alice)
    assert failed.deployments.count() == 1


def test_applying_a_preview_is_refused_when_the_budget_filled_since(alice, keys):
    box = machine(alice, keys, "box", "t3.micro")
    preview = Deployment.objects.create(
        resource=box, owner=alice, action="preview", stack_name=box.stack_name,
        status="succeeded", params={**box.proposed(), "instance_type": "t3.small"})
    machine(alice, keys, "later", "t3.micro")  # $5 + $7.50 would be $12.50
    with pytest.raises(services.DeploymentRefused, match="\\$12.50, \\$0.50 over"):
        services.apply_preview(preview, alice)
    box.refresh_from_db()
    assert box.instance_type == "t3.micro"
    assert not box.deployments.filter(action="update").exists()


def test_the_admins_retry_action_is_refused_past_the_budget(client, alice, keys,
                                                            django_user_model):
    failed = machine(alice, keys, "failed", "t3.medium", status=Status.FAILED)
    Deployment.objects.create(resource=failed, owner=alice, action="create",
                              stack_name=failed.stack_name, status="failed")
    machine(alice, keys, "other", "t3.micro")
    client.force_login(django_user_model.objects.create_superuser("op", password="x"))
    response = client.post(reverse("admin:vms_virtualmachine_changelist"), {
        "action": "retry_selected", "_selected_action": [failed.pk]}, follow=True)
    assert "$15.00, $3.00 over your budget of $12.00" in response.content.decode()
    assert failed.deployments.count() == 1


def test_the_api_refuses_a_create_and_an_update_past_the_budget(alice_client, alice, keys):
    box = machine(alice, keys, "box", "t3.small")
    created = alice_client.post("/api/v1/vms/", json.dumps(create_form(keys, "b", "t3.small")),
                                content_type="application/json")
    assert created.status_code == 409
    assert "$15.00, $3.00 over your budget of $12.00" in created.json()["detail"]
    machine(alice, keys, "other", "t3.micro")  # $7.50 + $5; the update would make $15
    changed = alice_client.patch(f"/api/v1/vms/{box.code}/",
                                 json.dumps({"instance_type": "t3.medium",
                                             "allow_anywhere": False}),
                                 content_type="application/json")
    assert changed.status_code == 409 and "over your budget" in changed.json()["detail"]
    assert VirtualMachine.objects.count() == 2 and not Deployment.objects.exists()


def test_the_api_refuses_to_apply_a_preview_past_the_budget(alice_client, alice, keys):
    box = machine(alice, keys, "box", "t3.micro")
    preview = Deployment.objects.create(
        resource=box, owner=alice, action="preview", stack_name=box.stack_name,
        status="succeeded", params={**box.proposed(), "instance_type": "t3.medium"},
        requested_by=alice)
    machine(alice, keys, "later", "t3.micro")
    response = alice_client.post(f"/api/v1/deployments/{preview.code}/apply/")
    assert response.status_code == 409 and "$3.00 over" in response.json()["detail"]


def test_an_operators_override_replaces_the_default(alice, keys, host_queue):
    machine(alice, keys, "first", "t3.medium")
    second = machine(alice, keys, "second", "t3.medium", status=Status.PENDING)
    with pytest.raises(services.DeploymentRefused, match="budget of \\$12.00"):
        services.request_deployment(second, "create", alice)
    UserBudget.objects.create(user=alice, monthly_usd=Decimal("30"))
    dep = services.request_deployment(second, "create", alice)
    assert dep.action == "create" and dep.budget_warning == ""  # $20 is 66% of $30
    UserBudget.objects.filter(user=alice).update(monthly_usd=None)  # none at all
    third = machine(alice, keys, "third", "t3.medium", status=Status.PENDING)
    assert services.request_deployment(third, "create", alice).budget_warning == ""


def test_no_budget_by_default(alice, keys, settings, host_queue):
    settings.HEROCOOL_DEFAULT_BUDGET_USD = ""
    for i in range(3):
        box = machine(alice, keys, f"m{i}", "t3.medium", status=Status.PENDING)
        services.request_deployment(box, "create", alice)
    assert Deployment.objects.count() == 3


def test_an_operator_sets_a_users_budget_in_the_admin(client, alice, keys,
                                                      django_user_model, host_queue):
    client.force_login(django_user_model.objects.create_superuser("op", password="x"))
    response = client.post(reverse("admin:stacks_userbudget_add"),
                           {"user": alice.pk, "monthly_usd": "40"})
    assert response.status_code == 302, response.content.decode()[:2000]
    machine(alice, keys, "first", "t3.medium")
    second = machine(alice, keys, "second", "t3.medium", status=Status.PENDING)
    assert services.request_deployment(second, "create", alice).action == "create"
