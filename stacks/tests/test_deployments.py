"""Deployment pages: the live log, cancel of a queued deployment, preview and refresh."""
import pytest
from django.urls import reverse

from sites.models import Site
from stacks.logwriter import append_log
from stacks.models import Deployment, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(alice):
    return Site.objects.create(owner=alice, name="blog", content="<p>1</p>",
                               status=Status.LIVE)


def test_live_log_returns_new_lines_incrementally(alice_client, site, alice):
    dep = Deployment.objects.create(resource=site, owner=alice, action="update",
                                    stack_name=site.stack_name, status="running")
    url = reverse("stacks-deployment-log", args=[dep.code])
    append_log(dep.pk, "line one\n")
    first = alice_client.get(url, {"after": 0}).json()
    assert first["text"] == "line one\n" and first["active"] and first["status"] == "running"
    append_log(dep.pk, "line two\n")
    second = alice_client.get(url, {"after": first["next"]}).json()
    assert second["text"] == "line two\n"
    assert alice_client.get(url, {"after": second["next"]}).json()["text"] == ""


def test_deployment_pages_are_private(client, bob, site, alice):
    dep = Deployment.objects.create(resource=site, owner=alice, action="update",
                                    stack_name=site.stack_name)
    append_log(dep.pk, "secret")
    client.force_login(bob)
    for name in ("stacks-deployment", "stacks-deployment-log"):
        assert client.get(reverse(name, args=[dep.code])).status_code == 404
    for name in ("stacks-deployment-cancel", "stacks-deployment-apply"):
        assert client.post(reverse(name, args=[dep.code])).status_code == 404
    dep.refresh_from_db()
    assert dep.status == "queued"


def test_cancel_a_queued_deployment(alice_client, alice, site, queue,
                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("sites-refresh", args=[site.code]))
    dep = site.deployments.get()
    assert queue.job_ids == [str(dep.code)]
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("stacks-deployment-cancel", args=[dep.code]))
    dep.refresh_from_db()
    assert dep.status == "cancelled" and dep.cancelled_by == alice and dep.finished_at
    assert queue.job_ids == []  # removed from the queue: it will never run
    site.refresh_from_db()
    assert site.status == Status.LIVE
    response = alice_client.post(reverse("stacks-deployment-cancel", args=[dep.code]),
                                 follow=True)
    assert "already finished" in response.content.decode()


def test_cancelling_a_queued_create_leaves_a_retryable_failure(alice_client, alice):
    alice_client.post(reverse("sites-create"),
                      {"name": "new", "source": "html", "html": "<p>x</p>"})
    site = Site.objects.get(name="new")
    alice_client.post(reverse("stacks-deployment-cancel", args=[site.deployments.get().code]))
    site.refresh_from_db()
    assert site.status == Status.FAILED and "cancelled by alice before it ran" in site.last_error


def test_preview_does_not_change_the_record(alice_client, site):
    response = alice_client.post(reverse("sites-update", args=[site.code]),
                                 {"source": "html", "html": "<p>2</p>", "preview": "1"})
    preview = site.deployments.get()
    assert response.url == preview.get_absolute_url()
    assert preview.action == "preview" and preview.params["content"] == "<p>2</p>"
    site.refresh_from_db()
    assert site.content == "<p>1</p>" and site.status == Status.LIVE


def test_live_deployment_quota(alice_client, alice, settings):
    settings.QUOTA_LIVE_DEPLOYMENTS = 2
    sites = [Site.objects.create(owner=alice, name=f"s{i}", content="x", status=Status.LIVE)
             for i in range(3)]
    for site in sites[:2]:
        alice_client.post(reverse("sites-refresh", args=[site.code]))
    response = alice_client.post(reverse("sites-refresh", args=[sites[2].code]), follow=True)
    assert "You already have 2 deployments queued or running" in response.content.decode()
    assert Deployment.objects.count() == 2


def test_admin_actions_make_deployments(admin_client, admin_user, site):
    changelist = reverse("admin:sites_site_changelist")
    for action, expected in (("refresh_selected", "refresh"), ("cancel_selected", None),
                             ("destroy_selected", "destroy")):
        admin_client.post(changelist, {"action": action, "_selected_action": [site.pk]})
        latest = site.deployments.first()
        if expected:
            assert latest.action == expected and latest.requested_by == admin_user
        else:
            assert latest.status == "cancelled" and latest.cancelled_by == admin_user
    site.refresh_from_db()
    assert site.status == Status.DELETING


def test_admin_shows_the_log(admin_client, site, alice):
    dep = Deployment.objects.create(resource=site, owner=alice, action="update",
                                    stack_name=site.stack_name)
    append_log(dep.pk, "<b>engine said</b>")
    page = admin_client.get(reverse("admin:stacks_deployment_change", args=[dep.pk]))
    assert "&lt;b&gt;engine said&lt;/b&gt;" in page.content.decode()
