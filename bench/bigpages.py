"""The pages at 100,000 resources and 1,000,000 deployments (bench/bigdata.py): each
user page and the API's lists for a user with a tenth of everything (bench-big) and for
one with ten sites and ten VMs (bench-small) in the same tables, deep pages by key, and
the admin's change lists for an operator. In-process through Django's test client, as
bench/pages.py does."""
import statistics
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from rest_framework.pagination import Cursor

from accounts.models import Token
from bench.common import log
from bench.pages import _handler, logged_in, measure_page
from herocool_project.api import NewestFirst
from sites.models import Site
from stacks.keyset import key_of
from stacks.models import Deployment
from vms.models import VirtualMachine

User = get_user_model()


def deep_key(queryset, field, depth):
    """The `before` key `depth` rows down queryset, newest first (a page far back)."""
    row = queryset.order_by(f"-{field}", "-pk")[depth:depth + 1].first()
    return key_of(row, field) if row else ""


def user_pages(user):
    """(label, url) of every page measured for user."""
    mine = Deployment.objects.filter(owner=user)
    site = Site.objects.filter(owner=user).order_by("-created", "-pk").first()
    logged = mine.filter(log_chunks__isnull=False).order_by("-pk").first()
    history = site.deployments.all()
    return [
        ("site list", reverse("sites-index")),
        ("VM list", reverse("vms-index")),
        ("dashboard", reverse("accounts-dashboard")),
        ("activity feed", reverse("stacks-activity")),
        ("activity feed, deep page", reverse("stacks-activity") + "?before="
         + deep_key(mine, "queued_at", mine.count() // 2)),
        ("site page (history)", site.get_absolute_url()),
        ("site page, older history", site.get_absolute_url() + "?before="
         + deep_key(history, "queued_at", 5)),
        ("deployment page (log)", logged.get_absolute_url()),
    ]


def api_client(user):
    """A client that calls as a script does: a real read-only personal access token in
    `Authorization: Bearer`, no session. It shares the pages' request handler."""
    _token, text = Token.issue(user, "bench", [Token.Scope.READ], timedelta(hours=2))
    client = Client(headers={"Authorization": f"Bearer {text}"})
    if _handler:
        client.handler = _handler[0]
    return client


def deep_cursor(url, queryset, depth):
    """The `?cursor=` of the API's page that starts `depth` rows down queryset (its
    NewestFirst order), encoded as the API itself encodes the `next` link's."""
    pager = NewestFirst()
    ordering = pager.get_ordering(None, queryset, None)
    row = queryset.order_by(*ordering)[depth - 1:depth].first()
    pager.base_url = url
    pager.cursor_query_param = "cursor"
    position = pager._get_position_from_instance(row, ordering)
    return pager.encode_cursor(Cursor(offset=0, reverse=False, position=position))


def api_pages(user):
    """(label, url) of the API's lists measured for user: /api/v1/ as scripts call it."""
    deployments = "/api/v1/deployments/"
    mine = Deployment.objects.filter(owner=user)
    return [
        ("API: sites", "/api/v1/sites/"),
        ("API: VMs", "/api/v1/vms/"),
        ("API: deployments", deployments),
        ("API: deployments, deep page",
         deep_cursor(deployments, mine, mine.count() // 2)),
    ]


ADMIN_PAGES = [
    ("admin: deployments", "admin:stacks_deployment_changelist", ""),
    ("admin: deployments, failed", "admin:stacks_deployment_changelist",
     "?status__exact=failed"),
    ("admin: deployments, page 200", "admin:stacks_deployment_changelist", "?p=200"),
    ("admin: deployments, search a user", "admin:stacks_deployment_changelist",
     "?q=bench-big"),
    ("admin: sites", "admin:sites_site_changelist", ""),
    ("admin: sites, failed", "admin:sites_site_changelist", "?status__exact=failed"),
    ("admin: sites, search a name", "admin:sites_site_changelist", "?q=site-1234"),
    ("admin: VMs", "admin:vms_virtualmachine_changelist", ""),
]


def cpu_ms(client, url, repeat):
    """The median CPU time of this process per request: what the page costs the web
    process whatever else the machine runs (the database's share is not in it)."""
    spent = []
    for _ in range(repeat):
        t0 = time.process_time()
        client.get(url)
        spent.append((time.process_time() - t0) * 1000)
    return statistics.median(spent)


def measure(client, who, label, url, repeat, warmup):
    r = {"user": who, **measure_page(client, label, url, 0, repeat, warmup)}
    return {**r, "cpu_ms": cpu_ms(client, url, max(repeat // 3, 5))}


def bench_big_pages(users, repeat, warmup):
    """Each page: its query count, p50/p95/max over `repeat` requests, the web
    process's CPU time per request, its size."""
    results = []
    for who in ("bench-big", "bench-small"):
        client = logged_in(users[who])
        results += [measure(client, who, label, url, repeat, warmup)
                    for label, url in user_pages(users[who])]
        client = api_client(users[who])
        results += [measure(client, who, label, url, repeat, warmup)
                    for label, url in api_pages(users[who])]
    client = logged_in(User.objects.create_superuser("bench-operator", password=None))
    vm_type = ContentType.objects.get_for_model(VirtualMachine).pk
    pages = ADMIN_PAGES + [("admin: deployments, VMs only", "admin:stacks_deployment_changelist",
                            f"?resource_type__id__exact={vm_type}")]
    results += [measure(client, "operator", label, reverse(name) + query, repeat, warmup)
                for label, name, query in pages]
    log(f"big pages: worst p95 {max(r['p95'] for r in results):.1f} ms")
    return results
