"""What the web UI says and how: readable phrases, times in the user's zone, badges
anyone can read, pages that explain resources in plain words, our own error pages."""
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sites.models import Site
from stacks.models import Deployment, Status
from stacks.templatetags.herocool import elapsed, in_progress, when
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db
CSS = Path(settings.BASE_DIR) / "static" / "css" / "herocool.css"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRyYWZ0S2V5T25seUZvclRoZUJyb3dzZXJUZXN0cw e@h"


def contrast(hex_a, hex_b):
    def luminance(hex_):
        rgb = [int(hex_[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        rgb = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    a, b = sorted((luminance(hex_a), luminance(hex_b)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_every_status_badge_has_white_text_at_4_5_to_1_or_more():
    css = CSS.read_text()
    rules = re.findall(r"((?:\.status-[a-z]+,?\s*)+)\{\s*background:\s*(#[0-9a-f]{6})", css)
    colours = {name: colour for names, colour in rules
               for name in re.findall(r"status-([a-z]+)", names)}
    assert set(Status.values) | set(Deployment.State.values) <= set(colours)
    for status, colour in colours.items():
        assert contrast(colour, "#ffffff") >= 4.5, (status, colour)


def _deployment(site, **fields):
    return Deployment.objects.create(resource=site, owner=site.owner,
                                     stack_name=site.stack_name, **fields)


def test_banners_use_the_right_article(alice):
    site = Site.objects.create(owner=alice, name="blog")
    assert in_progress(_deployment(site, action="update")) == \
        "An update is queued: waiting for a worker"
    assert in_progress(Deployment(action="refresh", status="running")) == \
        "A drift check is running"


def test_elapsed_says_what_a_deployment_waits_for_and_how_long_it_took(alice):
    site = Site.objects.create(owner=alice, name="blog")
    queued = _deployment(site, action="update")
    assert elapsed(queued).startswith("not started: waiting for a worker for ")
    now = timezone.now()
    queued.started_at = now - timedelta(seconds=75)
    assert elapsed(queued) == "1 min 15 s so far"
    queued.finished_at = now - timedelta(seconds=70, microseconds=800_000)
    assert elapsed(queued) == "4.2 s"


def test_times_are_written_in_the_zone_the_browser_names(alice_client, alice):
    site = Site.objects.create(owner=alice, name="blog")
    alice_client.cookies["tz"] = "Asia/Tokyo"
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert re.search(r'<time datetime="[^"]+" title="[0-9-]+ [0-9:]+ JST">', page)
    alice_client.cookies["tz"] = "../../../etc/passwd"
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert re.search(r'title="[0-9-]+ [0-9:]+ UTC">', page)


def test_when_reads_as_people_say_it():
    moment = timezone.now() - timedelta(minutes=5)
    assert ">5 minutes ago</time>" in when(moment)


def test_a_site_page_has_open_and_copy_buttons_and_says_drift_check(alice_client, alice):
    site = Site.objects.create(owner=alice, name="blog", status=Status.LIVE)
    Site.objects.filter(pk=site.pk).update(outputs={"website_url": "http://blog--alice.localhost:8001/"})
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert 'id="open-site" href="http://blog--alice.localhost:8001/"' in page
    assert 'data-copy="http://blog--alice.localhost:8001/"' in page
    assert "Check for drift" in page and ">Refresh<" not in page
    assert 'aria-label="Breadcrumb"' in page


def test_a_machine_page_speaks_plainly(alice_client, alice):
    vm = VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key=KEY,
        allowed_cidr="203.0.113.7/32", status=Status.LIVE,
        outputs={"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool",
                 "state": "running", "public_dns": "box.example"})
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert 'data-copy="ssh -p 2222 herocool@127.0.0.1"' in page
    assert "The machine is running" in page and "SSH on port 2222" in page
    assert "1 vCPU, 512 MB memory" in page
    for raw in ("public_dns<", "ssh_port<", ">state<"):
        assert raw not in page


def test_the_instance_type_select_is_styled(alice_client):
    page = alice_client.get(reverse("vms-create")).content.decode()
    assert re.search(r'<select name="instance_type" class="form-select"', page)


def test_aria_describedby_names_only_ids_that_exist(alice_client):
    page = alice_client.post(reverse("sites-create"), {"name": "Bad Name", "source": "url"})
    html = page.content.decode()
    ids = set(re.findall(r' id="([^"]+)"', html))
    for described in re.findall(r'aria-describedby="([^"]+)"', html):
        assert set(described.split()) <= ids, described
    assert 'aria-describedby="id_name_helptext id_name_error"' in html
    assert "<legend" in html


def test_the_404_page_looks_like_the_product_and_leaks_nothing(alice_client):
    response = alice_client.get("/sites/no-such-thing/<script>")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Not found" in page and "bootstrap.min" in page and "Log out" in page
    assert "no-such-thing" not in page and "<script>" not in page


def test_the_500_page_renders_without_a_request():
    page = render_to_string("500.html")
    assert "Something went wrong" in page and "bootstrap.min" in page


def test_an_anonymous_visitor_gets_log_in_and_sign_up_links():
    page = Client().get(reverse("accounts-login")).content.decode()
    assert reverse("accounts-signup") in page and "Log out" not in page
