"""The big change lists' table is the markup it was before issue #13's cheaper rows (the
old way is kept here): Django's change_list_results.html over a cell list per row, each
cell through conditional_escape and the labels as lazy strings, the resource link and the
checkbox through format_html. For deployments, sites and VMs, filtered or not, with
names that need escaping and deployments nobody asked for."""
import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.contenttypes.models import ContentType
from django.template.loader import get_template
from django.test import RequestFactory
from django.urls import get_script_prefix
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from sites.models import Site
from stacks import admin as stacks_admin
from stacks.models import Deployment
from stacks.templatetags import big_admin_list
from stacks.tests.test_query_counts import add_resources
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db


def old_text(value, empty):
    if value is None or value == "":
        return empty
    if type(value) is str:
        return conditional_escape(value)
    if isinstance(value, bool):
        return big_admin_list._boolean_icon(value)
    if hasattr(value, "strftime"):
        return big_admin_list._text(value, empty)  # unchanged: dates
    return conditional_escape(value)


def old_resource(obj):
    model = ContentType.objects.get_for_id(obj.resource_type_id).model_class()
    url = stacks_admin._change_url(model._meta.app_label, model._meta.model_name,
                                   get_script_prefix())
    return format_html('<a href="{}">{} {}</a>', url.replace("__pk__", str(obj.resource_id)),
                       model._meta.verbose_name, obj.resource_id)


def old_checkbox(obj):
    return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" '
                       'aria-label="Select this object for an action - {}">',
                       ACTION_CHECKBOX_NAME, obj.pk, str(obj))


def old_cell(column, obj, empty):
    if column.name == "action_checkbox":
        value = old_checkbox(obj)
    elif column.name == "resource":
        value = old_resource(obj)
    elif column.method is not None:
        value = column.method(obj)
    else:
        value = getattr(obj, column.name)
        field = column._field(obj, column.name)
        if field is not None and field.choices:
            value = dict(field.flatchoices).get(value, value)  # lazy labels, as before
        elif callable(value):
            value = value()
    return old_text(value, empty)


def old_rows(cl, context):
    columns, links = big_admin_list._columns(cl)
    rows = []
    for obj in cl.result_list:
        cells = []
        for column in columns:
            text = old_cell(column, obj, context["empty"])
            if column.name in links:
                url = context["change_url"].replace("__pk__", str(obj.pk), 1)
                cells.append(f'<th{column.attrs}><a href="{conditional_escape(url)}">{text}'
                             "</a></th>")
            else:
                cells.append(f"<td{column.attrs}>{text}</td>")
        rows.append([mark_safe("".join(cells))])
    return rows


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", password=None)


@pytest.mark.parametrize("model", [Deployment, Site, VirtualMachine])
@pytest.mark.parametrize("query", ["", "?status__exact=failed", "?q=alice"])
def test_the_table_is_the_tables_old_markup(alice, operator, model, query):
    add_resources(alice, 3)
    Site.objects.filter(name="site-0").update(name="x<script>&\"'", status="failed")
    VirtualMachine.objects.filter(name="vm-1").update(name="<b>vm</b>", status="failed")
    Deployment.objects.filter(stack_name__startswith="vm").update(requested_by=None,
                                                                  status="failed")
    model_admin = admin.site._registry[model]
    request = RequestFactory().get(f"/admin/{query}")
    request.user = operator
    cl = model_admin.get_changelist_instance(request)
    assert cl.result_list, "a list of rows to compare"
    new = big_admin_list.big_result_list(cl)
    opts = cl.opts
    change_url = big_admin_list.reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                        args=["__pk__"])
    if cl.preserved_filters:
        change_url += "?" + cl.preserved_filters
    old = {**new, "results": old_rows(cl, {"change_url": change_url,
                                            "empty": model_admin.get_empty_value_display()})}
    old_html = get_template("admin/change_list_results.html").render(old)
    new_html = get_template("admin/big_change_list_results.html").render(new)
    assert new_html == old_html
    assert new_html.count('name="_selected_action"') == len(cl.result_list)
