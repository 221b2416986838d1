"""The list pages and the dashboard read a fixed number of queries, however many
resources (and deployments) the user has: no query per row."""
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sites.models import Site
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db

PAGES = ["sites-index", "vms-index", "accounts-dashboard"]
# Session, user, the second factor's check (is the user enrolled), the user's teams (one
# query, issue #18), the page's own reads (sites, VMs, deployments and their resources)
# and, on the dashboard, the cost total (two grouped counts) and the user's budget: 12
# there; far below one query per row.
MAX_QUERIES = 12

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchmarkKeyOnlyForQueryCounts test@herocool"


def add_resources(owner, n, start=0):
    """n live sites and n live VMs for owner, each with a succeeded create deployment
    requested by the owner (the dashboard's activity feed)."""
    sites, vms = [], []
    for i in range(start, start + n):
        code = uuid.uuid4()
        sites.append(Site(owner=owner, code=code, name=f"site-{i}", target="local",
                          stack_name=f"site-u{owner.pk}-{code.hex[:12]}",
                          status=Status.LIVE, content="<p>hi</p>",
                          outputs={"website_url": f"http://s{i}.localhost:8001/"}))
        code = uuid.uuid4()
        vms.append(VirtualMachine(
            owner=owner, code=code, name=f"vm-{i}", target="local",
            stack_name=f"vm-u{owner.pk}-{code.hex[:12]}", status=Status.LIVE,
            instance_type="t3.micro", ssh_public_key=KEY, allowed_cidr="10.0.0.1/32",
            outputs={"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool"}))
    Site.objects.bulk_create(sites)
    VirtualMachine.objects.bulk_create(vms)
    # Interleaved, so the latest deployments (the feed) name both kinds of resource
    # whatever n is: the feed reads one query per kind present, by design.
    site_type = ContentType.objects.get_for_model(Site)
    vm_type = ContentType.objects.get_for_model(VirtualMachine)
    deployments = []
    for site, vm in zip(sites, vms):
        for ctype, resource in ((site_type, site), (vm_type, vm)):
            deployments.append(Deployment(
                resource_type=ctype, resource_id=resource.pk, owner=owner,
                stack_name=resource.stack_name, action=Deployment.Action.CREATE,
                status=Deployment.State.SUCCEEDED, requested_by=owner))
    Deployment.objects.bulk_create(deployments)


def count_queries(client, name):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(name))
    assert response.status_code == 200
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("name", PAGES)
def test_query_count_does_not_grow_with_resources(alice_client, alice, name):
    add_resources(alice, 3)
    count_queries(alice_client, name)  # warm: content types, session
    few, few_sql = count_queries(alice_client, name)

    add_resources(alice, 27, start=3)
    many, many_sql = count_queries(alice_client, name)
    assert Site.objects.filter(owner=alice).count() == 30

    assert many == few, (
        f"{name}: {few} queries with 3 resources, {many} with 30:\n" + "\n".join(many_sql))
    assert few <= MAX_QUERIES, f"{name}: {few} queries:\n" + "\n".join(few_sql)


def test_rows_are_on_the_pages(alice_client, alice):
    """The pages measured above really list the resources (not an empty state)."""
    add_resources(alice, 3)
    assert alice_client.get(reverse("sites-index")).content.count(b'href="/sites/') >= 3
    assert alice_client.get(reverse("vms-index")).content.count(b'href="/vms/') >= 3
    dashboard = alice_client.get(reverse("accounts-dashboard")).content
    assert b'id="activity"' in dashboard and b"site-0" in dashboard and b"vm-0" in dashboard
