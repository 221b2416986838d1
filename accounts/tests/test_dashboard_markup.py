"""The dashboard writes the same page as the way it was read and rendered before issue
#13's cheaper dashboard (kept below: the ORM's GenericPrefetch feed and the model rows
the templates read), for a user with personal sites and VMs, team resources, another
member's team resource, more rows than the dashboard shows, and activity that names
both kinds of resource, a resource that is gone, and a deployment nobody asked for. The
activity page likewise, page by page: it reads its rows as the dashboard does now."""
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.team_models import Membership, Team
from sites.models import Site
from stacks.hosts import mark_unreachable
from stacks.keyset import newest_first, page_from_request
from stacks.models import Deployment, Status, resource_models
from stacks.permissions import visible_to
from stacks.resource_views import active_for_user
from stacks.views import FEED_ROWS
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMarkupTestKeyOnly test@herocool"


def old_feed_for_user(user):
    """stacks.views.feed_for_user as it was."""
    resources = GenericPrefetch("resource", [
        model.objects.defer(*model.list_deferred) for model in resource_models()])
    mine = (visible_to(user, Deployment).select_related("requested_by")
            .defer("summary", "params").prefetch_related(resources))
    return newest_first(mine, "queued_at")


# templates/accounts/dashboard.html as it was (its includes as they are: their own tests
# compare them with their old markup, stacks/tests/test_site_row.py).
OLD_TEMPLATE = engines["django"].from_string("""{% extends "base.html" %}
{% block title %}Dashboard{% endblock %}
{% block content %}
<h1 class="h3 mb-4">Your resources</h1>
{% load cost %}{% budget_standing user %}
<div class="row g-4">
  <div class="col-lg-7">
    <div class="d-flex flex-wrap gap-2 justify-content-between align-items-center mb-2">
      <h2 class="h5 mb-0">Sites</h2>
      <a class="btn btn-sm btn-primary" href="{% url 'sites-create' %}">New site</a>
    </div>
    {% include "sites/table.html" %}
    {% if more_sites %}<a href="{% url 'sites-index' %}">All your sites</a>{% endif %}
    <div class="d-flex flex-wrap gap-2 justify-content-between align-items-center mb-2 mt-4">
      <h2 class="h5 mb-0">Virtual machines</h2>
      <a class="btn btn-sm btn-primary" href="{% url 'vms-create' %}">New machine</a>
    </div>
    {% include "vms/table.html" %}
    {% if more_vms %}<a href="{% url 'vms-index' %}">All your machines</a>{% endif %}
  </div>
  <div class="col-lg-5">
    <h2 class="h5">Activity</h2>
    {% if activity %}
    {% include "stacks/activity_list.html" %}
    <a href="{% url 'stacks-activity' %}">All activity</a>
    {% else %}
    <p class="text-body-secondary">Nothing has happened yet. Deployments you start appear here.</p>
    {% endif %}
  </div>
</div>
{% endblock %}
""")


def old_dashboard(request):
    """accounts.views.dashboard as it was, with the template as it was."""
    rows = 10
    activity = old_feed_for_user(request.user)[:15]
    sites = list(active_for_user(Site, request.user)[:rows + 1])
    vms = list(active_for_user(VirtualMachine, request.user)[:rows + 1])
    return HttpResponse(OLD_TEMPLATE.render({
        "sites": mark_unreachable(sites[:rows]), "more_sites": len(sites) > rows,
        "vms": mark_unreachable(vms[:rows]), "more_vms": len(vms) > rows,
        "activity": activity,
    }, request))


CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+"|(data-csrf=")[^"]+"')


def page_of(response):
    assert response.status_code == 200
    return CSRF.sub(lambda m: (m.group(1) or m.group(2)) + b'-"', response.content)


def site(owner, name, team=None, **fields):
    return Site.objects.create(**{"owner": owner, "team": team, "name": name,
                                  "status": Status.LIVE,
                                  "stack_name": f"site-{uuid.uuid4().hex[:12]}", **fields})


def vm(owner, name, team=None, **fields):
    return VirtualMachine.objects.create(**{
        "owner": owner, "team": team, "name": name, "status": Status.LIVE,
        "instance_type": "t3.micro", "stack_name": f"vm-{uuid.uuid4().hex[:12]}",
        "ssh_public_key": KEY, "allowed_cidr": "10.0.0.1/32", **fields})


def deploy(resource, by, minutes_ago, **fields):
    d = Deployment.objects.create(resource=resource, owner=resource.owner, team=resource.team,
                                  stack_name=resource.stack_name, action="update",
                                  requested_by=by, status=Status.LIVE, **fields)
    Deployment.objects.filter(pk=d.pk).update(
        queued_at=timezone.now() - timedelta(minutes=minutes_ago))
    return d


@pytest.fixture
def busy_alice(alice, bob):
    ops = Team.start("ops<&>", alice)
    shared = Team.start("shared", bob)
    Membership.objects.create(team=shared, user=alice, role="viewer")
    soon = timezone.now() + timedelta(hours=3)
    made = [site(alice, f"blog-{i}") for i in range(9)]
    made += [site(alice, "x<script>&\"'",
                  outputs={"website_url": "http://a.localhost/?a=1&b=<2>"}),
             site(alice, "failing", status=Status.FAILED, expires_at=soon),
             site(alice, "ops-site", team=ops), site(bob, "bobs-shared", team=shared)]
    site(bob, "bobs-own")  # never shown to alice
    Site.objects.filter(name="blog-3").update(status=Status.DELETED)
    made += [vm(alice, f"vm-{i}") for i in range(8)]
    made += [vm(alice, "box", outputs={"public_ip": "127.0.0.1", "ssh_port": 2222,
                                        "ssh_user": "herocool"}),
             vm(alice, "stopped", outputs={"public_ip": "127.0.0.1", "state": "stopped"}),
             vm(alice, "pending", status=Status.PENDING, expires_at=soon),
             vm(alice, "ops-vm", team=ops), vm(bob, "bobs-vm", team=shared)]
    for i, resource in enumerate(made):  # the last made, the newest
        deploy(resource, resource.owner if i % 3 else None, minutes_ago=(len(made) - i) * 7)
    gone = site(alice, "gone")
    d = deploy(gone, alice, minutes_ago=2)
    Deployment.objects.filter(pk=d.pk).update(resource_id=gone.pk + 10_000)
    return alice, gone.stack_name


def test_the_dashboard_is_the_old_dashboard(client, busy_alice):
    busy_alice, gone = busy_alice
    client.force_login(busy_alice)
    url = reverse("accounts-dashboard")
    with CaptureQueriesContext(connection) as new_queries:
        new = page_of(client.get(url))
    request = client.get(url).wsgi_request  # a real request: session, user, messages
    request.user = type(busy_alice).objects.get(pk=busy_alice.pk)
    with CaptureQueriesContext(connection) as old_queries:
        old = page_of(old_dashboard(request))
    assert new == old
    body = new.split(b"<body", 1)[1]
    # What the page must show, so the comparison is not of two empty pages.
    for shown in (b"blog-8", b"ops-site", b"bobs-shared", b"ops-vm", b"bobs-vm",
                  b"update bobs-shared", b"update ops-vm", b"update pending",
                  b"x&lt;script&gt;", b"the platform", b"All your sites", b"All your machines",
                  b"ssh -p 2222 herocool@127.0.0.1", b"ops&lt;&amp;&gt;",
                  f"update {gone}".encode()):
        assert shown in body, shown
    assert b"bobs-own" not in body and b"blog-3<" not in body
    # The page's own reads (here the session and user are cached): no more than before.
    assert len(new_queries) <= len(old_queries)


def old_activity(request):
    """stacks.views.activity as it was: model rows through the GenericPrefetch feed."""
    page = page_from_request(request, old_feed_for_user(request.user), "queued_at", FEED_ROWS)
    return render(request, "stacks/activity.html", {"activity": page.rows, "page": page})


def test_the_activity_pages_are_the_old_ones(client, busy_alice):
    """The activity page reads its rows as plain values now, as the dashboard does: each
    page, and the key to the next, is what the model rows gave."""
    busy_alice, gone = busy_alice
    client.force_login(busy_alice)
    url, seen = reverse("stacks-activity"), b""
    for page in (1, 2):  # 27 deployments, 25 to a page
        with CaptureQueriesContext(connection) as new_queries:
            new = page_of(client.get(url))
        request = client.get(url).wsgi_request
        request.user = type(busy_alice).objects.get(pk=busy_alice.pk)
        with CaptureQueriesContext(connection) as old_queries:
            old = page_of(old_activity(request))
        assert new == old
        assert len(new_queries) <= len(old_queries)
        seen += new.split(b"<body", 1)[1]
        older = re.search(rb'href="\?before=([^"]+)"', new)
        assert bool(older) == (page == 1)  # the second page is the last
        if older:
            url = reverse("stacks-activity") + "?before=" + older.group(1).decode()
    for shown in (b"update bobs-shared", b"update ops-vm", b"x&lt;script&gt;",
                  b"the platform", f"update {gone}".encode(), b"update blog-0"):
        assert shown in seen, shown
    assert b"bobs-own" not in seen
