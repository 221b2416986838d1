"""The rows of a big change list (stacks.admin.BigListAdmin), each written in one pass.

Django's `result_list` renders every cell through lookup_field, display_for_field (a
date through the localized date formats), two format_html calls, and, when the list is
filtered, a URL resolve per row for the link's preserved filters; the template then
renders every cell again as a variable. That was most of a change list's 40–60 ms at 25
rows. Here a cell is one escape and a row one string; the headers, the link (with its
preserved filters), the checkbox and the classes stay as Django writes them, and Django's
change_list_results.html still renders the table.
"""
import datetime
from html import escape

from django import template
from django.contrib.admin.templatetags.admin_list import _boolean_icon, result_headers
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import quote
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

register = template.Library()

DATETIME = "%Y-%m-%d %H:%M:%S"  # UTC by settings; sorts and compares at a glance


def _text(value, empty):
    if value is None or value == "":
        return empty
    if type(value) is str:  # most cells: conditional_escape's result without its checks
        return escape(value)
    if isinstance(value, bool):
        return _boolean_icon(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime(DATETIME)
    if hasattr(value, "__html__"):  # already safe (a display method's link)
        return value.__html__()
    # conditional_escape's result for the rest (a user, a number, a lazy label), without
    # its lazy-string wrapper on every cell.
    return escape(str(value))


class _Column:
    """How one list_display entry turns an object into a cell."""

    def __init__(self, model_admin, name):
        self.name = name
        # As Django's lookup_field: a ModelAdmin method of that name first.
        self.method = (getattr(model_admin, name)
                       if name != "__str__" and hasattr(model_admin, name) else None)
        field = self._field(model_admin.model, name)
        # The labels as text once per list, not a lazy string per cell.
        self.labels = ({value: str(label) for value, label in field.flatchoices}
                       if field is not None and field.choices else None)
        nowrap = isinstance(field, (models.DateField, models.TimeField, models.ForeignKey))
        classes = "action-checkbox" if name == "action_checkbox" else f"field-{name}"
        self.attrs = mark_safe(f' class="{classes}{" nowrap" if nowrap else ""}"')

    @staticmethod
    def _field(model, name):
        try:
            return model._meta.get_field(name)
        except FieldDoesNotExist:  # a display method or a model attribute
            return None

    def html(self, obj, empty):
        if self.method is not None:
            return _text(self.method(obj), empty)
        value = getattr(obj, self.name)
        if self.labels is not None:
            value = self.labels.get(value, value)
        elif callable(value):
            value = value()
        return _text(value, empty)


def _columns(cl):
    admin = cl.model_admin
    columns = [_Column(admin, name) for name in cl.list_display]
    if cl.list_display_links is None:
        return columns, set()
    firsts = [c.name for c in columns if c.name != "action_checkbox"][:1]
    return columns, set(cl.list_display_links or firsts)


def _row(obj, columns, links, change_url, empty):
    cells = []
    for column in columns:
        text = column.html(obj, empty)
        if column.name in links:
            url = change_url.replace("__pk__", quote(str(obj.pk)), 1)
            cells.append(f'<th{column.attrs}><a href="{escape(url)}">{text}</a></th>')
        else:
            cells.append(f"<td{column.attrs}>{text}</td>")
    return "".join(cells)


def big_result_list(cl):
    """Django's result_list with the rows written here (no list_editable)."""
    columns, links = _columns(cl)
    opts = cl.opts
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=["__pk__"],
                         current_app=cl.model_admin.admin_site.name)
    if cl.preserved_filters:
        change_url += "?" + cl.preserved_filters
    empty = cl.model_admin.get_empty_value_display()
    rows = [_row(obj, columns, links, change_url, empty) for obj in cl.result_list]
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": list(result_headers(cl)),
        "num_sorted_fields": 0,
        "results": rows,
        # What change_list_results.html's loop wrote for each row (no form: no
        # list_editable), spaced as it spaced them.
        "rows": mark_safe("".join(f"\n\n<tr>{cells}</tr>\n" for cells in rows)),
    }


@register.tag(name="big_result_list")
def big_result_list_tag(parser, token):
    return InclusionAdminNode(parser, token, func=big_result_list,
                              template_name="big_change_list_results.html",
                              takes_context=False)
