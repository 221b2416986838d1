"""The admin's change lists as operators use them, written by stacks/templatetags/
big_admin_list.py: every row links to its deployment and its resource, filters list only
what exists (sites and VMs) without asking the database, no facet counts over the whole
table, rows read only the columns they show, escaped, and read-only pages offer no Save
or Delete."""
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sites.models import Site
from stacks.models import Deployment
from stacks.tests.test_query_counts import add_resources
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db

DEPLOYMENTS = "admin:stacks_deployment_changelist"
SITES = "admin:sites_site_changelist"
VMS = "admin:vms_virtualmachine_changelist"
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)


def page_and_sql(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, url
    return response.content.decode(), [q["sql"] for q in ctx.captured_queries]


def rows(page):
    return [r for r in ROW.findall(page) if 'name="_selected_action"' in r]


def test_each_deployment_row_links_to_the_deployment_and_to_its_resource(admin_client,
                                                                          alice):
    add_resources(alice, 1)
    site, vm = Site.objects.get(owner=alice), VirtualMachine.objects.get(owner=alice)
    page, _ = page_and_sql(admin_client, reverse(DEPLOYMENTS))
    for resource in (site, vm):
        dep = Deployment.objects.get(resource_id=resource.pk, stack_name=resource.stack_name)
        row = next(r for r in rows(page) if f'value="{dep.pk}"' in r)
        assert f'href="{reverse("admin:stacks_deployment_change", args=[dep.pk])}"' in row
        change = f"admin:{resource._meta.app_label}_{resource._meta.model_name}_change"
        assert f'href="{reverse(change, args=[resource.pk])}"' in row
        assert f">{resource.stack_name}</a></th>" in row
        assert ">Succeeded<" in row and ">Create<" in row and ">alice<" in row
        assert dep.queued_at.strftime("%Y-%m-%d %H:%M:%S") in row


def test_a_filtered_lists_links_keep_the_filter_to_come_back_to(admin_client, alice):
    add_resources(alice, 2)
    page, _ = page_and_sql(admin_client, reverse(SITES), {"status__exact": "live"})
    assert len(rows(page)) == 2
    for row in rows(page):
        assert "/change/?_changelist_filters=status__exact%3Dlive" in row


def test_the_resource_type_filter_lists_sites_and_vms_without_a_query(admin_client, alice):
    add_resources(alice, 2)
    page_and_sql(admin_client, reverse(DEPLOYMENTS))  # warm: the content types' cache
    page, sql = page_and_sql(admin_client, reverse(DEPLOYMENTS))
    assert not [q for q in sql if "django_content_type" in q], "\n".join(sql)
    choices = re.findall(r"resource_type__id__exact=(\d+)[^>]*>([^<]+)</a>", page)
    site_type = ContentType.objects.get_for_model(Site)
    vm_type = ContentType.objects.get_for_model(VirtualMachine)
    assert choices == [(str(site_type.pk), "site"), (str(vm_type.pk), "virtual machine")]
    filtered, _ = page_and_sql(admin_client, reverse(DEPLOYMENTS),
                               {"resource_type__id__exact": vm_type.pk})
    assert len(rows(filtered)) == 2 and all("/admin/vms/" in r for r in rows(filtered))


@pytest.mark.parametrize("name", [DEPLOYMENTS, SITES, VMS])
def test_admin_lists_offer_no_facet_counts_over_the_whole_table(admin_client, alice, name):
    add_resources(alice, 2)
    page, _ = page_and_sql(admin_client, reverse(name))
    assert "_facets" not in page
    _, sql = page_and_sql(admin_client, reverse(name), {"_facets": "True"})
    counts = [q for q in sql if "COUNT(" in q]
    assert len(counts) == 1 and "LIMIT" in counts[0], "\n".join(counts)


@pytest.mark.parametrize("name, table, unread", [
    (SITES, "sites_site", ["content", "outputs"]),
    (VMS, "vms_virtualmachine", ["ssh_public_key", "outputs"]),
    (DEPLOYMENTS, "stacks_deployment", ["params", "summary"]),
])
def test_rows_read_only_the_columns_they_show(admin_client, alice, name, table, unread):
    add_resources(alice, 2)
    _, sql = page_and_sql(admin_client, reverse(name))
    row_query = next(q for q in sql if f'FROM "{table}"' in q and "COUNT(" not in q)
    for column in unread:
        assert f'"{table}"."{column}"' not in row_query, column
    assert '"auth_user"."password"' not in row_query
    assert '"auth_user"."username"' in row_query


def test_rows_escape_what_users_named(admin_client, alice):
    add_resources(alice, 1)
    Site.objects.filter(owner=alice).update(name="<b>bold</b>")
    page, _ = page_and_sql(admin_client, reverse(SITES))
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


def test_the_action_select_offers_the_admins_actions(admin_client, alice):
    add_resources(alice, 1)
    page, _ = page_and_sql(admin_client, reverse(SITES))
    select = re.search(r'<select name="action" required>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'value="(\w*)"', select) == [
        "", "retry_selected", "refresh_selected", "cancel_selected", "destroy_selected"]
    assert '<input type="hidden" name="select_across" value="0" class="select-across">' in page


def test_an_action_posted_from_the_list_still_runs(admin_client, alice):
    add_resources(alice, 1)
    dep = Deployment.objects.filter(owner=alice).first()
    Deployment.objects.filter(pk=dep.pk).update(status=Deployment.State.QUEUED)
    response = admin_client.post(reverse(DEPLOYMENTS), {
        "action": "cancel_selected", "select_across": "0", "index": "0",
        "_selected_action": [dep.pk]})
    assert response.status_code == 302
    dep.refresh_from_db()
    assert dep.status in (Deployment.State.CANCELLED, Deployment.State.CANCELLING)


@pytest.mark.parametrize("model", [Deployment, Site, VirtualMachine])
def test_read_only_pages_offer_no_save_or_delete(admin_client, alice, model):
    add_resources(alice, 1)
    obj = model.objects.filter(owner=alice).first()
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    page = admin_client.get(url).content.decode()
    assert 'class="closelink"' in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert "deletelink" not in page
    assert admin_client.post(url, {"name": "changed"}).status_code == 403
    delete = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
