"""Cost and expiry in a real browser (issue #17): the dashboard's total against the
budget, a machine's countdown ticking, a preview's cost before/after and the difference,
and the create form's estimate following the chosen type (scripts under the strict CSP)."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b"


@pytest.fixture
def priced_machine(transactional_db, settings, django_user_model):
    """dana's t3.micro ($5 a month at $10 per GB of memory), expiring in 2 hours, and a
    succeeded preview of making it a t3.medium ($10)."""
    from django.utils import timezone

    from stacks.models import Deployment, Status
    from vms.models import VirtualMachine

    settings.HEROCOOL_LOCAL_PRICE_PER_GB_RAM_MONTH = "10"
    settings.HEROCOOL_DEFAULT_BUDGET_USD = "6"
    dana = django_user_model.objects.create_user("dana", password="dana-Passw0rd-long")
    vm = VirtualMachine.objects.create(owner=dana, name="box", instance_type="t3.micro",
                                       target="local", ssh_public_key=KEY,
                                       allowed_cidr="127.0.0.1/32", status=Status.LIVE)
    vm.set_expiry(timezone.now() + timedelta(hours=2))
    preview = Deployment.objects.create(
        resource=vm, owner=dana, action="preview", stack_name=vm.stack_name,
        status="succeeded", requested_by=dana, summary={"changes": {"update": 1}},
        params={**vm.proposed(), "instance_type": "t3.medium"})
    return vm, preview


@pytest.mark.slow
def test_cost_and_expiry_in_the_browser(priced_machine, page):
    vm, preview = priced_machine
    page.goto("/login/")
    page.fill("#id_username", "dana")
    page.fill("#id_password", "dana-Passw0rd-long")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator("#total-usd")).to_have_text("$5.00")
    expect(page.locator("#budget-usd")).to_have_text("$6.00")
    expect(page.locator("#budget-warning")).to_contain_text("83% of your budget")
    expect(page.locator("#vms-table time[data-countdown]")).to_have_text(
        re.compile(r"^in (1 h 59 min|2 h 0 min)$"))

    page.goto(vm.get_absolute_url())
    countdown = page.locator("time[data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^in (1 h 59 min|2 h 0 min)$"))
    expect(page.locator(".monthly-cost")).to_have_text("$5.00/month")

    page.goto(preview.get_absolute_url())
    expect(page.locator("#cost-before")).to_have_text("$5.00")
    expect(page.locator("#cost-after")).to_have_text("$10.00")
    expect(page.locator("#cost-diff")).to_have_text("+$5.00")

    page.goto("/vms/new/")
    estimate = page.locator("[data-estimate-for=instance_type]")
    expect(estimate).to_have_text("About $5.00 a month")
    page.select_option("#id_instance_type", "t3.medium")
    expect(estimate).to_have_text("About $10.00 a month")
