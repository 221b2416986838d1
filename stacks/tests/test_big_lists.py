"""Pages that stay fast at any size: query counts flat as rows grow, pages by key that
neither miss nor repeat a row, other users' rows never shown, change lists without a
COUNT of the whole table, and the indexes the pages' queries use."""
import re
from urllib.parse import unquote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sites.models import Site
from stacks.admin import CappedCountPaginator
from stacks.keyset import keyset_page
from stacks.models import Deployment
from stacks.tests.test_query_counts import add_resources

pytestmark = pytest.mark.django_db

USER_PAGES = ["sites-index", "vms-index", "accounts-dashboard", "stacks-activity"]
ADMIN_LISTS = ["admin:stacks_deployment_changelist", "admin:sites_site_changelist",
               "admin:vms_virtualmachine_changelist"]
OLDER = re.compile(r'href="\?before=([^"]+)">Older')
DEPLOYMENT_LINK = re.compile(r'href="/deployments/([0-9a-f-]{36})/"')


def queries(client, url, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries]


def deploy_many(site, n, when=None):
    """n more succeeded deployments of site, all queued at `when` if given."""
    ctype = ContentType.objects.get_for_model(Site)
    made = Deployment.objects.bulk_create([
        Deployment(resource_type=ctype, resource_id=site.pk, owner=site.owner,
                   stack_name=site.stack_name, action=Deployment.Action.UPDATE,
                   status=Deployment.State.SUCCEEDED, requested_by=site.owner)
        for _ in range(n)])
    if when is not None:
        Deployment.objects.filter(pk__in=[d.pk for d in made]).update(queued_at=when)


def walk(client, url):
    """Every page from the first by its Older links: the deployment codes in order."""
    codes, before, pages = [], None, 0
    while True:
        html = client.get(url, {"before": before} if before else {}).content.decode()
        codes += DEPLOYMENT_LINK.findall(html)
        pages += 1
        older = OLDER.search(html)
        if not older:
            return codes, pages
        before = unquote(older.group(1))


@pytest.mark.parametrize("name", USER_PAGES)
def test_user_pages_read_as_many_queries_with_10_rows_as_with_200(alice_client, alice, name):
    add_resources(alice, 10)
    queries(alice_client, reverse(name))  # warm: content types, session
    few = queries(alice_client, reverse(name))
    add_resources(alice, 190, start=10)
    many = queries(alice_client, reverse(name))
    assert len(many) == len(few), "\n".join(many)


def test_a_history_reads_as_many_queries_with_10_deployments_as_with_200(alice_client,
                                                                          alice):
    add_resources(alice, 1)
    site = Site.objects.get(owner=alice)
    deploy_many(site, 9)
    queries(alice_client, site.get_absolute_url())
    few = queries(alice_client, site.get_absolute_url())
    deploy_many(site, 190)
    many = queries(alice_client, site.get_absolute_url())
    assert len(many) == len(few), "\n".join(many)


@pytest.mark.parametrize("name", ADMIN_LISTS)
def test_admin_lists_read_as_many_queries_with_10_rows_as_with_200(admin_client, alice,
                                                                    name):
    add_resources(alice, 10)
    queries(admin_client, reverse(name))
    few = queries(admin_client, reverse(name))
    add_resources(alice, 190, start=10)
    many = queries(admin_client, reverse(name))
    assert len(many) == len(few), "\n".join(many)


@pytest.mark.parametrize("name", ADMIN_LISTS)
def test_admin_lists_never_count_or_scan_the_whole_table(admin_client, alice, name):
    add_resources(alice, 3)
    for params in ({}, {"status__exact": "failed"}, {"target": "local"}):
        if "deployment" in name and "target" in params:
            continue
        sql = queries(admin_client, reverse(name), **params)
        counts = [q for q in sql if "COUNT(" in q]
        assert counts and all("LIMIT" in q for q in counts), "\n".join(counts)
        assert not [q for q in sql if "DISTINCT" in q], "a filter asked the table"


def test_admin_list_says_more_than_the_cap(admin_client, alice, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    add_resources(alice, 4)  # 8 deployments
    page = admin_client.get(reverse("admin:stacks_deployment_changelist")).content.decode()
    assert "more than 5 deployments" in page


def test_the_feed_by_key_misses_and_repeats_nothing_even_with_equal_times(alice_client,
                                                                         alice, bob):
    add_resources(alice, 20)  # 40 deployments, one per resource
    add_resources(bob, 20, start=100)
    site = Site.objects.filter(owner=alice).first()
    deploy_many(site, 80, when=timezone.now())  # 80 with the very same time
    bobs = set(Deployment.objects.filter(owner=bob).values_list("code", flat=True))

    codes, pages = walk(alice_client, reverse("stacks-activity"))

    expected = [str(c) for c in Deployment.objects.filter(owner=alice)
                .order_by("-queued_at", "-id").values_list("code", flat=True)]
    assert pages == 5 and len(expected) == 120  # 25 to a page
    assert codes == expected  # all of them, once each, in one stable order
    assert not bobs & set(codes)


def test_a_history_by_key_shows_every_deployment_of_that_resource_only(alice_client, alice):
    add_resources(alice, 5)
    site = Site.objects.filter(owner=alice).first()
    deploy_many(site, 70, when=timezone.now())

    codes, pages = walk(alice_client, site.get_absolute_url())

    expected = [str(c) for c in site.deployments.order_by("-queued_at", "-id")
                .values_list("code", flat=True)]
    assert pages == 2 and codes == expected and len(expected) == 71


def test_a_list_by_key_lists_every_resource_of_the_user_once(alice_client, alice, bob):
    add_resources(alice, 120)
    add_resources(bob, 5, start=500)
    Site.objects.filter(owner=alice).update(created=timezone.now())  # all tied
    names, before = [], None
    while True:
        html = alice_client.get(reverse("sites-index"),
                                {"before": before} if before else {}).content.decode()
        names += re.findall(r'<td><a href="/sites/[^"]+">([^<]+)</a>', html)
        older = OLDER.search(html)
        if not older:
            break
        before = unquote(older.group(1))
    assert sorted(names) == sorted(f"site-{i}" for i in range(120))


@pytest.mark.parametrize("before", ["garbage", "1,2,3", "99999999999999999999999,1", ""])
def test_a_malformed_key_gives_the_first_page(alice_client, alice, before):
    add_resources(alice, 2)
    html = alice_client.get(reverse("stacks-activity"), {"before": before}).content.decode()
    assert len(DEPLOYMENT_LINK.findall(html)) == 4


def test_keyset_pages_of_three_with_ties(alice):
    add_resources(alice, 1)
    site = Site.objects.get(owner=alice)
    deploy_many(site, 7, when=timezone.now())
    rows, before = [], ""
    while True:
        page = keyset_page(Deployment.objects.filter(owner=alice), "queued_at", before, 3)
        rows += [d.pk for d in page.rows]
        if not page.has_next:
            break
        before = page.next_before
    assert rows == list(Deployment.objects.filter(owner=alice)
                        .order_by("-queued_at", "-id").values_list("pk", flat=True))


def plan(queryset):
    """The plan PostgreSQL picks with sequential scans and sorts priced out, i.e. the
    index it would use on a table too big to read whole."""
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_sort = off")
    return queryset.explain()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_pages_queries_use_their_indexes(alice):
    from stacks.resource_views import active_for_user
    from stacks.views import FEED_COLUMNS, feed_of

    add_resources(alice, 3)
    site = Site.objects.filter(owner=alice).first()
    assert "site_owner_list" in plan(active_for_user(Site, alice)[:51])
    assert "deployment_owner_feed" in plan(feed_of(alice).values_list(*FEED_COLUMNS)[:51])
    assert "deployment_history" in plan(site.deployments.order_by("-queued_at", "-id")[:51])
    assert "deployment_status" in plan(
        Deployment.objects.filter(status="failed").order_by("-pk")[:50])


@pytest.mark.parametrize("name", ADMIN_LISTS)
def test_admin_search_finds_by_what_an_index_finds(admin_client, alice, bob, name):
    add_resources(alice, 2)
    add_resources(bob, 2, start=10)
    model = {"stacks": Deployment, "sites": Site}.get(name.split(":")[1].split("_")[0])
    if model is None:
        from vms.models import VirtualMachine as model
    row = model.objects.filter(owner=alice).first()
    url = reverse(name)
    for term, expected in [(row.stack_name[:12], model.objects.filter(
                               stack_name__startswith=row.stack_name[:12])),
                           ("alice", model.objects.filter(owner=alice)),
                           (str(row.code), [row])]:
        sql = queries(admin_client, url, q=term)
        page = admin_client.get(url, {"q": term}).content.decode()
        assert page.count('name="_selected_action"') == len(expected), term
        assert not [q for q in sql if "LIKE '%" in q or "LIKE UPPER('%" in q], term
