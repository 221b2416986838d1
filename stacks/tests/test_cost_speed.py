"""What keeps cost cheap on every page (issues #11, #13): an owner's total in one query
per kind, and estimates worked out once and shared until a setting changes."""
from decimal import Decimal

import pytest

from sites.models import Site
from stacks import cost
from stacks.models import Status
from vms.models import VirtualMachine

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b"


def machine(owner, name, instance_type, status=Status.LIVE):
    return VirtualMachine.objects.create(owner=owner, name=name, instance_type=instance_type,
                                         target="aws", ssh_public_key=KEY,
                                         allowed_cidr="127.0.0.1/32", status=status)


@pytest.mark.django_db
def test_an_owners_total_is_one_query_per_kind(settings, alice, bob,
                                                      django_assert_num_queries):
    settings.AWS_REGION = "us-east-1"
    small = machine(alice, "a", "t3.micro")
    machine(alice, "b", "t3.medium")
    machine(alice, "c", "t3.medium")
    machine(alice, "gone", "t3.medium", status=Status.DELETED)
    machine(bob, "theirs", "t3.medium")
    site = Site.objects.create(owner=alice, name="s", target="aws", status=Status.LIVE)
    Site.objects.create(owner=alice, name="here", target="local", status=Status.LIVE)
    with django_assert_num_queries(2):
        total, unpriced = cost.owner_total(alice.pk)
    assert total == Decimal("11.88") + 2 * Decimal("34.66") + Decimal("0.96")
    assert unpriced == 0
    assert cost.owner_total(alice.pk, excluding=small)[0] == total - Decimal("11.88")
    assert cost.owner_total(alice.pk, excluding=site)[0] == total - Decimal("0.96")
    settings.AWS_REGION = "eu-west-3"
    assert cost.owner_total(alice.pk) == (Decimal(0), 4)  # the local site is priced: 0


def test_an_estimate_is_shared_until_a_setting_changes(settings):
    settings.HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH = "1"
    first = Site(target="local").monthly_estimate()
    assert Site(target="local").monthly_estimate() is first
    settings.HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH = "2"
    assert Site(target="local").monthly_estimate().total == Decimal("2.00")
