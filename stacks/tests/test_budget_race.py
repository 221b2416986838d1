"""Ten creates at once cannot pass a budget together: the check runs under the owner's
quota lock (PostgreSQL's concurrent transactions)."""
import threading

import pytest
from django.db import close_old_connections, connection

from sites.models import Site
from stacks import services
from stacks.models import Deployment


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_creates_cannot_pass_the_budget(alice, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's concurrent transactions")
    settings.HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH = "1"
    settings.HEROCOOL_DEFAULT_BUDGET_USD = "3"
    settings.QUOTA_SITES = 100
    settings.QUOTA_LIVE_DEPLOYMENTS = 100
    start = threading.Barrier(10)
    outcomes = []

    def create(i):
        from django.db import transaction

        start.wait()
        try:
            with transaction.atomic():
                site = Site.objects.create(owner=alice, name=f"race{i}", content="x")
                services.request_deployment(site, Deployment.Action.CREATE, alice)
            outcomes.append("ok")
        except services.DeploymentRefused as exc:
            outcomes.append("refused" if "over your budget of $3.00" in str(exc) else str(exc))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 7
    assert Site.objects.count() == 3 and Deployment.objects.count() == 3
