"""{% site_row %} (issues #11, #13) writes the same row the sites table's template did,
for every shape of site: with or without an address, an expiry, an unreachable host, and
a name that needs escaping."""
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from accounts.models import Team
from sites.models import Site
from stacks.models import Status

# The row as templates/sites/table.html wrote it before.
TEMPLATE_ROW = Template("""{% load herocool cost %}  <tr>
    <td><a href="{{ site.get_absolute_url }}">{{ site.name }}</a>{% if site.team %} <span class="badge text-bg-light border" title="Team">{{ site.team.name }}</span>{% endif %}</td>
    <td>{% status_badge site.status %}{% if site.host_unreachable %} <span class="badge text-bg-danger" data-unreachable title="The machine it lives on has stopped answering">host unreachable</span>{% endif %}</td>
    <td class="text-nowrap">{% if site.website_url %}<a href="{{ site.website_url }}" rel="noopener noreferrer" target="_blank">{{ site.website_url }}</a>{% endif %}</td>
    <td class="text-body-secondary small text-nowrap">{{ site.updated|when }}</td>
    <td class="small">{% monthly_cost site %}{% if site.expires_at %} <span class="text-body-secondary">expires {% countdown site.expires_at %}</span>{% endif %}</td>
  </tr>""")
TAG_ROW = Template("{% load rows %}  {% site_row site %}")


@pytest.mark.django_db
@pytest.mark.parametrize("fields", [
    {},
    {"outputs": {"website_url": "http://blog.alice.localhost:8001/?a=1&b=<2>"}},
    {"expires_at": timezone.now() + timedelta(hours=2), "status": Status.FAILED},
    {"name": "x<script>&\"'"},
    {"team": "ops<&>"},
])
@pytest.mark.parametrize("unreachable", [None, False, True])
def test_the_row_is_the_templates_row(alice, fields, unreachable):
    if "team" in fields:
        fields = {**fields, "team": Team.start(fields["team"], alice)}
    site = Site.objects.create(owner=alice, **{"name": "blog", "status": Status.LIVE, **fields})
    if unreachable is not None:
        site.host_unreachable = unreachable
    context = Context({"site": site})
    assert TAG_ROW.render(context) == TEMPLATE_ROW.render(context)


@pytest.mark.parametrize("status", ["live", "queued", "<b>&\"'"])
def test_the_badge_writes_what_format_html_wrote(status):
    from django.utils.html import format_html

    from stacks.templatetags.herocool import BUSY, status_badge
    assert status_badge(status) == format_html(
        '<span class="badge status status-{0}" data-status="{0}"{1}>{0}</span>',
        status, " data-busy" if status in BUSY else "")


def test_when_writes_what_format_html_wrote():
    from django.utils.html import format_html

    from stacks.templatetags.herocool import ago, when
    moment = timezone.now() - timedelta(minutes=3)
    local = timezone.localtime(moment)
    assert when(moment) == format_html('<time datetime="{}" title="{}">{}</time>',
                                       moment.isoformat(),
                                       local.strftime("%Y-%m-%d %H:%M:%S %Z"), ago(moment))



# The feed's item as templates/stacks/activity_list.html wrote it before.
TEMPLATE_ITEM = Template("""{% load herocool %}  <li class="list-group-item">
    <a href="{{ d.get_absolute_url }}">{{ d.action }} {{ d.resource.name|default:d.stack_name }}</a>
    {% status_badge d.status %}
    <div class="small text-body-secondary">{{ d.queued_at|when }} by {{ d.requested_by|default:"the platform" }}</div>
  </li>""")
TAG_ITEM = Template("{% load rows %}  {% activity_item d %}")


@pytest.mark.django_db
@pytest.mark.parametrize("asked_by_alice", [True, False])
@pytest.mark.parametrize("resource_kept", [True, False])
def test_the_feed_item_is_the_templates_item(alice, asked_by_alice, resource_kept):
    from stacks.models import Deployment

    site = Site.objects.create(owner=alice, name="blog<&>", status=Status.LIVE)
    Deployment.objects.create(resource=site, owner=alice, action="update",
                              stack_name="st<a>ck", requested_by=alice if asked_by_alice else None)
    if not resource_kept:
        Deployment.objects.update(resource_id=site.pk + 1000)  # a row no longer there
    d = Deployment.objects.select_related("requested_by").prefetch_related("resource").get()
    context = Context({"d": d})
    assert TAG_ITEM.render(context) == TEMPLATE_ITEM.render(context)



# A resource's deployment row as templates/stacks/history.html wrote it before.
TEMPLATE_HISTORY = Template("""{% load herocool %}  <tr>
    <td><a href="{{ d.get_absolute_url }}">{{ d.action }}</a></td>
    <td>{% status_badge d.status %}</td>
    <td>{{ d.requested_by|default:"the platform" }}</td>
    <td class="text-nowrap">{{ d.queued_at|when }}</td>
    <td class="text-nowrap">{% if d.duration %}{{ d.duration.total_seconds|floatformat:1 }} s{% endif %}</td>
  </tr>""")
TAG_HISTORY = Template("{% load rows %}  {% history_row d %}")


@pytest.mark.django_db
@pytest.mark.parametrize("seconds", [None, 0, 0.25, 4.25, 3725.05])
def test_the_history_row_is_the_templates_row(alice, seconds):
    from stacks.models import Deployment

    site = Site.objects.create(owner=alice, name="blog", status=Status.LIVE)
    started = timezone.now() - timedelta(hours=2)
    finished = None if seconds is None else started + timedelta(seconds=seconds)
    for by in (alice, None):
        d = Deployment.objects.create(resource=site, owner=alice, action="update",
                                      stack_name=f"s-{by}", requested_by=by, started_at=started,
                                      finished_at=finished)
        context = Context({"d": d})
        assert TAG_HISTORY.render(context) == TEMPLATE_HISTORY.render(context)


# The feed's list as templates/stacks/activity_list.html wrote it before: a tag per item.
TEMPLATE_LIST = Template("""{% load rows %}<ul class="list-group" id="activity">
  {% for d in activity %}
  {% activity_item d %}
  {% endfor %}
</ul>
""")


@pytest.mark.django_db
@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_feed_list_is_the_templates_list(alice, count):
    from django.template.loader import get_template

    from stacks.models import Deployment

    site = Site.objects.create(owner=alice, name="blog", status=Status.LIVE)
    for i in range(count):
        Deployment.objects.create(resource=site, owner=alice, action="update",
                                  stack_name=f"s-{i}", requested_by=alice)
    activity = list(Deployment.objects.select_related("requested_by")
                    .prefetch_related("resource"))
    new = get_template("stacks/activity_list.html").render({"activity": activity})
    assert new == TEMPLATE_LIST.render(Context({"activity": activity}))
    assert new.count("<li") == count
