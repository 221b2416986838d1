"""A site's whole life through the real Pulumi engine and a real RQ worker."""
import socket
from pathlib import Path

import pytest
from django.urls import reverse

from sites.models import Site
from stacks import engine
from stacks.models import Status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_create_update_delete_through_engine_and_worker(alice_client, alice, origin,
                                                        fetch, run_jobs, settings):
    alice_client.post(reverse("sites-create"),
                      {"name": "hello", "source": "html", "html": "<h1>v1</h1>"})
    site = Site.objects.get(name="hello")
    assert run_jobs() == 1
    site.refresh_from_db()
    assert site.status == Status.LIVE, site.last_error
    assert site.website_url == f"http://hello--alice.localhost:{origin}/"
    assert fetch(site.website_url) == "<h1>v1</h1>"
    create = site.deployments.get()
    assert create.status == "succeeded" and create.finished_at >= create.started_at
    log = create.full_log()
    assert "+ 2 created" in log and "website_url" in log

    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert site.website_url in page and "succeeded" in page

    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": "<h1>v2</h1>"})
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.LIVE
    assert fetch(site.website_url) == "<h1>v2</h1>"

    alice_client.post(reverse("sites-delete", args=[site.code]))
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.DELETED and site.outputs == {}
    assert not (Path(settings.SITES_ROOT) / site.host_label).exists()
    with pytest.raises(engine.StackMissing):
        engine.outputs(site.pulumi_project, site.stack_name)
    assert [d.action for d in site.deployments.all()] == ["destroy", "update", "create"]
    assert all(d.status == "succeeded" for d in site.deployments.all())


def test_a_failing_deployment_leaves_a_failed_site_with_its_log(alice_client, origin, fetch,
                                                               run_jobs, settings, tmp_path):
    """The engine fails for real (the sites root is a file); a retry then succeeds."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings.SITES_ROOT = blocker
    alice_client.post(reverse("sites-create"),
                      {"name": "broken", "source": "html", "html": "<p>x</p>"})
    run_jobs()
    site = Site.objects.get(name="broken")
    assert site.status == Status.FAILED
    deployment = site.deployments.get()
    assert deployment.status == "failed" and deployment.error
    log = deployment.full_log()
    assert "Not a directory" in log or "File exists" in log
    assert site.last_error == deployment.error
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert "The last deployment failed." in page and "Retry" in page

    settings.SITES_ROOT = tmp_path / "sites"
    alice_client.post(reverse("sites-retry", args=[site.code]))
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.LIVE
    assert fetch(site.website_url) == "<p>x</p>"


def test_unreachable_url_fails_the_deployment_with_a_clear_message(alice_client,
                                                                   run_jobs, monkeypatch):
    real_getaddrinfo = socket.getaddrinfo

    def no_such_host(host, *args, **kwargs):  # only DNS is stubbed: no query leaves
        if host == "no-such-host.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    alice_client.post(reverse("sites-create"), {
        "name": "remote", "source": "url", "url": "http://no-such-host.invalid/"})
    run_jobs()
    site = Site.objects.get(name="remote")
    assert site.status == Status.FAILED
    assert site.last_error == ("Fetching the page failed. Could not connect to "
                               "no-such-host.invalid: name does not resolve")
    assert "Fetching the page failed" in site.deployments.get().full_log()
