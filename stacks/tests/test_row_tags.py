"""The tags list rows use (stacks/templatetags/herocool.py, stacks/urlcache.py): the
same markup and URLs as the include, timesince and reverse() they replaced."""
import uuid
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from stacks.templatetags.herocool import ago, status_badge, when
from stacks.urlcache import code_url


@pytest.mark.parametrize("status,busy", [("live", False), ("failed", False), ("queued", True),
                                         ("running", True), ("deleting", True),
                                         ("cancelling", True), ("succeeded", False)])
def test_the_badge_names_its_state_and_marks_busy_ones_for_watching(status, busy):
    html = status_badge(status)
    assert f'class="badge status status-{status}"' in html
    assert f'data-status="{status}"' in html and f">{status}</span>" in html
    assert ("data-busy" in html) is busy


def test_the_badge_escapes_what_it_is_given():
    assert "<script>" not in status_badge("<script>")


@pytest.mark.parametrize("seconds,words", [
    (5, "just now"), (59, "just now"), (60, "1 minute ago"), (119, "1 minute ago"),
    (150, "2 minutes ago"), (3600, "1 hour ago"), (86400 * 2 + 5, "2 days ago"),
    (86400 * 15, "2 weeks ago"), (86400 * 40, "1 month ago"), (86400 * 800, "2 years ago"),
    (-7200, "in 2 hours")])
def test_ago_says_the_largest_whole_unit(seconds, words):
    now = timezone.now()
    assert ago(now - timedelta(seconds=seconds), now) == words


def test_when_gives_the_exact_time_with_its_zone_on_hover(settings):
    settings.TIME_ZONE = "Europe/Paris"
    moment = timezone.now() - timedelta(minutes=3)
    with timezone.override("Europe/Paris"):
        html = str(when(moment))
        local = timezone.localtime(moment)
    assert html.startswith(f'<time datetime="{moment.isoformat()}"')
    assert f'title="{local:%Y-%m-%d %H:%M:%S} CET"' in html or f'title="{local:%Y-%m-%d %H:%M:%S} CEST"' in html
    assert ">3 minutes ago</time>" in html
    assert when(None) == "" and when("") == ""


def test_the_tags_work_in_a_template():
    html = Template("{% load herocool %}{% status_badge s %} {{ t|when }}").render(
        Context({"s": "live", "t": timezone.now()}))
    assert 'data-status="live"' in html and ">just now</time>" in html


@pytest.mark.parametrize("name", ["sites-detail", "vms-detail", "stacks-deployment"])
def test_row_urls_are_what_reverse_gives(name):
    code = uuid.uuid4()
    assert code_url(name, code) == reverse(name, args=[code])
    assert code_url(name, str(code)) == reverse(name, args=[code])


def test_row_urls_follow_the_script_prefix():
    code = uuid.uuid4()
    set_script_prefix("/herocool/")
    try:
        assert code_url("sites-detail", code) == reverse("sites-detail", args=[code])
        assert code_url("sites-detail", code).startswith("/herocool/")
    finally:
        set_script_prefix("/")


def test_a_route_without_a_uuid_is_refused():
    with pytest.raises(Exception):
        code_url("sites-index", uuid.uuid4())
