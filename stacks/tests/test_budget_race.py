"""Ten creates at once cannot pass a budget together: the check runs under the owner's
quota lock (PostgreSQL's concurrent transactions)."""
import pytest
from django.db import connection

from sites.models import Site
from stacks.models import Deployment

from .locks import ten_site_creates_at_once


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_creates_cannot_pass_the_budget(alice, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's concurrent transactions")
    settings.HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH = "1"
    settings.HEROCOOL_DEFAULT_BUDGET_USD = "3"
    settings.QUOTA_SITES = 100
    settings.QUOTA_LIVE_DEPLOYMENTS = 100
    outcomes = ["refused" if "over your budget of $3.00" in o else o
                for o in ten_site_creates_at_once(alice)]
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 7
    assert Site.objects.count() == 3 and Deployment.objects.count() == 3
