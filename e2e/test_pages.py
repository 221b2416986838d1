"""Every page at a phone's width (390 px) and a desktop's (1280 px), light and dark:
nothing wider than the screen, the menu reaches Log out, and axe-core finds no serious
or critical accessibility violation. Then a deployment page followed live from before
its first log line, through a lost connection, to its end."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Team
from sites.models import Site
from stacks.logwriter import append_log
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

from .pages import DESKTOP, PHONE, outside_the_browser_loop, problems_of, with_axe

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRyYWZ0S2V5T25seUZvclRoZUJyb3dzZXJUZXN0cw e2e@herocool"
LOG_REQUESTS = re.compile(r"/log/\?after=")
LOG_REQUESTS_ANY = re.compile(r"/log/$")
LONG_NAME = "a-rather-long-site-name-that-people-really-do-choose-1234"


def settled(resource, action, user, log):
    """A deployment of `resource` that ended well, with a log."""
    now = timezone.now()
    d = Deployment.objects.create(resource=resource, owner=user, stack_name=resource.stack_name,
                                  action=action, status="succeeded", requested_by=user,
                                  started_at=now - timedelta(seconds=12), finished_at=now,
                                  summary={"changes": {"create": 2}})
    append_log(d.pk, log)
    return d


@pytest.fixture
def alices_things(alice):
    """alice's live site (with a long name and URL) and machine, each with a history."""
    site = Site.objects.create(owner=alice, name=LONG_NAME, status=Status.LIVE, content="<p>hi</p>")
    Site.objects.filter(pk=site.pk).update(outputs={
        "website_url": f"http://{site.address_label}.localhost:8001/"})
    vm = VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key=KEY,
        allowed_cidr="203.0.113.7/32", status=Status.LIVE,
        outputs={"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool",
                 "state": "running"})
    deployment = settled(site, "create", alice, "Updating (site-stack):\n" + "+ " * 300 + "\n")
    settled(vm, "create", alice, "Updating (vm-stack):\n + herocool:LocalVm guest created\n")
    return {"site": site, "vm": vm, "deployment": deployment,
            "team": Team.start("Ops people", alice)}  # her team's page: its admin's forms


def log_in(page, username="alice", password="alice-password-1"):
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your resources")).to_be_visible()


def walk(page, paths, *, logged_in):
    found = []
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            for name, path in paths:
                response = page.goto(path)
                assert response.status in (200, 404), (path, response.status)
                found += problems_of(page, f"{name}-{scheme}", logged_in=logged_in)
    return found


@pytest.mark.slow
def test_every_page_fits_a_phone_and_passes_axe(alices_things, context, page):
    site, vm = alices_things["site"], alices_things["vm"]
    with_axe(context)
    found = walk(page, [("login", "/login/"), ("signup", "/signup/"),
                        ("password-reset", reverse("accounts-password-reset")),
                        ("not-found", "/no/such/page/")], logged_in=False)
    log_in(page)
    found += walk(page, [
        ("dashboard", "/"),
        ("sites", reverse("sites-index")),
        ("site-new", reverse("sites-create")),
        ("site", site.get_absolute_url()),
        ("site-edit", reverse("sites-update", args=[site.code])),
        ("site-delete", reverse("sites-delete", args=[site.code])),
        ("machines", reverse("vms-index")),
        ("machine-new", reverse("vms-create")),
        ("machine", vm.get_absolute_url()),
        ("machine-edit", reverse("vms-update", args=[vm.code])),
        ("machine-delete", reverse("vms-delete", args=[vm.code])),
        ("deployment", alices_things["deployment"].get_absolute_url()),
        ("activity", reverse("stacks-activity")),
        ("account", reverse("accounts-account")),
        ("password-change", reverse("accounts-password-change")),
        ("two-factor", reverse("accounts-2fa")),
        ("ssh-keys", reverse("accounts-keys")),
        ("api-tokens", reverse("accounts-tokens")),
        ("notifications", reverse("accounts-notifications")),
        ("leave", reverse("accounts-leave")),
        ("teams", reverse("teams-index")),
        ("team", alices_things["team"].get_absolute_url()),
        ("not-found-logged-in", "/sites/00000000-0000-0000-0000-000000000000/"),
    ], logged_in=True)
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_create_forms_show_only_the_chosen_source_and_tie_errors_to_fields(alice, context, page):
    log_in(page)
    page.goto(reverse("sites-create"))
    expect(page.locator("fieldset legend")).to_have_text("Source")
    expect(page.locator("#id_html")).to_be_visible()
    expect(page.locator("#id_url")).to_be_hidden()
    expect(page.locator("#id_upload")).to_be_hidden()
    page.get_by_label("Fetch from a URL").check()
    expect(page.locator("#id_url")).to_be_visible()
    expect(page.locator("#id_html")).to_be_hidden()
    page.fill("#id_name", "Not A Name")
    page.get_by_role("button", name="Create and deploy").click()  # a bad name, no URL
    name = page.locator("#id_name")
    expect(name).to_have_attribute("aria-invalid", "true")
    described = name.get_attribute("aria-describedby").split()
    assert "id_name_error" in described and "id_name_helptext" in described
    for id_ in described:
        expect(page.locator(f"#{id_}")).to_have_count(1)
    expect(page.locator("#id_url")).to_be_visible()  # the chosen source stays shown
    expect(page.locator("#id_url_error")).to_be_visible()

    page.goto(reverse("vms-create"))
    expect(page.locator("#id_instance_type")).to_have_class("form-select")


@pytest.mark.slow
def test_a_deployment_page_says_what_happens_before_its_log_and_survives_a_lost_connection(
        alices_things, context, page):
    site = alices_things["site"]
    log_in(page)
    d = outside_the_browser_loop(lambda: Deployment.objects.create(
        resource=site, owner=site.owner, stack_name=site.stack_name, action="update",
        requested_by=site.owner))
    page.goto(d.get_absolute_url())
    progress = page.locator("#progress")
    expect(progress).to_have_attribute("role", "status")
    expect(progress).to_contain_text("Queued: waiting for a worker")
    expect(page.locator("#log")).to_be_hidden()  # never an empty black box
    expect(page.locator("#log-empty")).to_be_visible()
    expect(page.locator("#elapsed")).to_contain_text("waiting for a worker for")
    first = page.locator("#elapsed").text_content()
    expect(page.locator("#elapsed")).not_to_have_text(first)  # it ticks

    outside_the_browser_loop(lambda: Deployment.objects.filter(pk=d.pk).update(
        status="running", started_at=timezone.now()))
    expect(progress).to_contain_text("Starting the engine")
    expect(page.locator("#elapsed")).to_contain_text("so far")

    outside_the_browser_loop(lambda: append_log(d.pk, "line one\n"))
    expect(page.locator("#log")).to_have_text("line one\n")
    expect(progress).to_contain_text("Running")

    page.route(LOG_REQUESTS, lambda route: route.abort())  # the connection is lost
    expect(progress).to_contain_text("Reconnecting", timeout=10_000)
    outside_the_browser_loop(lambda: append_log(d.pk, "line two\n"))
    page.unroute(LOG_REQUESTS)
    page.evaluate("window.dispatchEvent(new Event('online'))")  # back: ask at once
    expect(page.locator("#log")).to_have_text("line one\nline two\n")  # resumed, not repeated

    outside_the_browser_loop(lambda: Deployment.objects.filter(pk=d.pk).update(
        status="succeeded", finished_at=timezone.now()))
    expect(page.locator("#log")).to_have_attribute("data-active", "false")  # reloaded
    expect(page.locator("#progress")).to_have_count(0)
    expect(page.locator("#log")).to_have_text("line one\nline two\n")


@pytest.mark.slow
def test_a_resource_page_waits_out_a_lost_connection_then_shows_the_result(
        alices_things, context, page):
    site = alices_things["site"]
    log_in(page)
    d = outside_the_browser_loop(lambda: Deployment.objects.create(
        resource=site, owner=site.owner, stack_name=site.stack_name, action="update",
        requested_by=site.owner))
    page.goto(site.get_absolute_url())
    banner = page.locator("#in-progress")
    expect(banner).to_have_attribute("aria-live", "polite")
    expect(banner).to_contain_text("An update is queued: waiting for a worker")
    page.route(LOG_REQUESTS_ANY, lambda route: route.abort())  # the connection is lost
    outside_the_browser_loop(lambda: Deployment.objects.filter(pk=d.pk).update(
        status="succeeded", started_at=timezone.now(), finished_at=timezone.now()))
    page.wait_for_timeout(4000)  # tries fail meanwhile: the page stays, no error page
    expect(banner).to_be_visible()
    page.unroute(LOG_REQUESTS_ANY)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(banner).to_have_count(0)  # reloaded once the server answered


@pytest.mark.slow
def test_without_javascript_the_menu_and_every_source_input_are_there(alice, context,
                                                                      live_server):
    plain = context.browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                        viewport=PHONE)
    page = plain.new_page()
    log_in(page)
    expect(page.locator("nav").get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("[data-toggle-nav]")).to_be_hidden()
    page.goto(reverse("sites-create"))
    for field in ("#id_html", "#id_upload", "#id_url"):
        expect(page.locator(field)).to_be_visible()
    plain.close()
