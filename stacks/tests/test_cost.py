"""Monthly estimates against figures worked out by hand from stacks/prices.json, and
where the pages show them (a resource's page, lists without a query per row, the
dashboard's total, the forms)."""
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from sites.models import Site
from stacks import cost
from stacks.models import Status
from vms.models import VirtualMachine

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b"


@pytest.fixture
def aws(settings):
    settings.HEROCOOL_TARGET = "aws"
    settings.AWS_REGION = "us-east-1"


# 730 h × hourly + 8 GB × $0.08 (gp3) + 730 h × $0.005 (public IPv4), to the cent:
# t3.micro 7.592 + 0.64 + 3.65 = 11.882; t3.small 15.184 + 4.29 = 19.474;
# t3.medium 30.368 + 4.29 = 34.658.
@pytest.mark.parametrize("instance_type, total", [
    ("t3.micro", "11.88"), ("t3.small", "19.47"), ("t3.medium", "34.66")])
def test_an_aws_machine_costs_its_hours_disk_and_address(aws, instance_type, total):
    estimate = VirtualMachine(target="aws", instance_type=instance_type).monthly_estimate()
    assert estimate.total == Decimal(total)
    assert [line.label for line in estimate.lines] == [
        f"{instance_type}, 730 hours", "8 GB root volume (gp3)", "public IPv4 address"]


def test_every_allowlisted_type_has_a_us_east_1_price(aws, settings):
    for name in settings.VM_INSTANCE_TYPES:
        assert VirtualMachine(target="aws", instance_type=name).monthly_estimate().priced


def test_an_aws_site_costs_its_stated_traffic(aws):
    # CloudFront: 10 GB × $0.085 + 100,000 HTTPS × $0.01/10,000 + 100,000 function runs
    # × $0.10/1,000,000; S3: 10,000 GET × $0.0004/1000 + 100 PUT × $0.005/1000
    # + 0.01 GB × $0.023 = 0.85 + 0.10 + 0.01 + 0.004 + 0.0005 + 0.00023 = 0.96473
    estimate = Site(target="aws").monthly_estimate()
    assert estimate.total == Decimal("0.96")
    assert sum(line.usd for line in estimate.lines) == Decimal("0.96473")


def test_a_region_without_figures_says_no_price(settings):
    settings.AWS_REGION = "eu-west-3"
    estimate = VirtualMachine(target="aws", instance_type="t3.micro").monthly_estimate()
    assert not estimate.priced and str(estimate) == "no price"
    assert "eu-west-3" in estimate.unpriced
    assert not Site(target="aws").monthly_estimate().priced


def test_local_capacity_costs_what_the_operator_prices_it_at(settings):
    assert VirtualMachine(target="local", instance_type="t3.small").monthly_estimate().total == 0
    settings.HEROCOOL_LOCAL_PRICE_PER_GB_RAM_MONTH = "4"
    settings.HEROCOOL_LOCAL_PRICE_PER_VCPU_MONTH = "1.5"
    settings.HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH = "0.25"
    # t3.small here: 768 MB (0.75 GB × $4 = $3) and 1 vCPU ($1.50).
    assert VirtualMachine(target="local", instance_type="t3.small").monthly_estimate().total \
        == Decimal("4.50")
    # t3.medium: 1 GB ($4) and 2 vCPU ($3).
    assert VirtualMachine(target="local", instance_type="t3.medium").monthly_estimate().total \
        == Decimal("7.00")
    assert Site(target="local").monthly_estimate().total == Decimal("0.25")


def machine(owner, name, instance_type="t3.micro", target="aws", status=Status.LIVE,
            **fields):
    return VirtualMachine.objects.create(owner=owner, name=name, instance_type=instance_type,
                                         target=target, ssh_public_key=KEY,
                                         allowed_cidr="127.0.0.1/32", status=status,
                                         **fields)


@pytest.mark.django_db
def test_an_owners_total_counts_live_resources_only(aws, alice, bob):
    machine(alice, "a", "t3.micro")
    machine(alice, "b", "t3.medium")
    machine(alice, "gone", "t3.medium", status=Status.DELETED)
    machine(bob, "theirs", "t3.medium")
    Site.objects.create(owner=alice, name="s", target="aws", status=Status.LIVE)
    total, unpriced = cost.owner_total(alice.pk)
    assert total == Decimal("11.88") + Decimal("34.66") + Decimal("0.96")
    assert unpriced == 0


@pytest.mark.django_db
def test_the_list_shows_each_cost_without_a_query_per_row(aws, alice_client, alice,
                                                          django_assert_max_num_queries):
    for i in range(3):
        machine(alice, f"m{i}", "t3.small")
    with django_assert_max_num_queries(12) as few:
        alice_client.get(reverse("vms-index"))
    for i in range(3, 30):
        machine(alice, f"m{i}", "t3.small")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = alice_client.get(reverse("vms-index")).content.decode()
    assert page.count("$19.47/month") == 30


@pytest.mark.django_db
def test_the_pages_show_estimates_and_the_dashboard_the_total(aws, alice_client, alice):
    vm = machine(alice, "box", "t3.medium")
    Site.objects.create(owner=alice, name="home", target="aws", status=Status.LIVE)
    detail = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "$34.66/month" in detail and "public IPv4 address" in detail
    dashboard = alice_client.get(reverse("accounts-dashboard")).content.decode()
    assert '<span id="total-usd">$35.62</span>' in dashboard  # 34.66 + 0.96


@pytest.mark.django_db
def test_the_create_form_carries_each_types_estimate_for_its_script(aws, alice_client):
    page = alice_client.get(reverse("vms-create")).content.decode()
    assert "js/estimate.js" in page
    start = page.index("data-estimates=\"") + len("data-estimates=\"")
    import html

    estimates = json.loads(html.unescape(page[start:page.index('"', start)]))
    assert {k: v["total"] for k, v in estimates.items()} == {
        "t3.micro": "11.88", "t3.small": "19.47", "t3.medium": "34.66"}
    assert "$0.96/month" in alice_client.get(reverse("sites-create")).content.decode()


@pytest.mark.django_db
def test_a_preview_states_the_cost_before_after_and_the_difference(aws, alice_client, alice):
    from stacks.models import Deployment

    vm = machine(alice, "box", "t3.micro")
    preview = Deployment.objects.create(
        resource=vm, owner=alice, action="preview", stack_name=vm.stack_name,
        status="succeeded", params={**vm.proposed(), "instance_type": "t3.medium"},
        summary={"changes": {"update": 1}})
    page = alice_client.get(preview.get_absolute_url()).content.decode()
    assert '<span id="cost-before">$11.88</span>' in page
    assert '<span id="cost-after">$34.66</span>' in page
    assert '<span id="cost-diff">+$22.78</span>' in page


@pytest.mark.django_db
def test_a_preview_says_when_deploying_it_would_pass_the_budget(aws, alice_client, alice,
                                                                 settings):
    from stacks.models import Deployment

    settings.HEROCOOL_DEFAULT_BUDGET_USD = "20"
    vm = machine(alice, "box", "t3.micro")
    preview = Deployment.objects.create(
        resource=vm, owner=alice, action="preview", stack_name=vm.stack_name,
        status="succeeded", params={**vm.proposed(), "instance_type": "t3.medium"},
        summary={"changes": {"update": 1}, "plan": "{}"})
    page = alice_client.get(preview.get_absolute_url()).content.decode()
    assert ("Deploying it would be refused. This would bring your monthly estimate to "
            "$34.66, $14.66 over your budget of $20.00.") in page
    assert 'id="preview-plan"' in page


def test_prices_and_budgets_in_the_environment_must_be_amounts(monkeypatch):
    from herocool_project.settings import _usd

    monkeypatch.setenv("HEROCOOL_DEFAULT_BUDGET_USD", "12.50")
    assert _usd("HEROCOOL_DEFAULT_BUDGET_USD", "") == "12.50"
    monkeypatch.setenv("HEROCOOL_DEFAULT_BUDGET_USD", "")
    assert _usd("HEROCOOL_DEFAULT_BUDGET_USD", "") == ""
    monkeypatch.setenv("HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH", "")
    with pytest.raises(ValueError, match="must be an amount in USD"):
        _usd("HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH", "0")
    monkeypatch.setenv("HEROCOOL_DEFAULT_BUDGET_USD", "$12")
    with pytest.raises(ValueError, match="not '\\$12'"):
        _usd("HEROCOOL_DEFAULT_BUDGET_USD", "")
