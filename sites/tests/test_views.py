"""Sites through the web UI: login, ownership, validation, and what a request records."""
import re
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sites.models import Site
from stacks.models import Deployment, Status

pytestmark = pytest.mark.django_db

PAGE = "<h1>Hello from alice</h1>"


@pytest.fixture
def site(alice):
    return Site.objects.create(owner=alice, name="blog", content=PAGE, status=Status.LIVE,
                               outputs={"website_url": "http://x.localhost:8001/"})


def _site_urls(site):
    code = site.code
    return {
        "get": [reverse(n, args=[code]) for n in
                ("sites-detail", "sites-update", "sites-delete")],
        "post": [reverse(n, args=[code]) for n in
                 ("sites-update", "sites-delete", "sites-refresh", "sites-retry")],
    }


def test_it_requires_login(client, site):
    for url in [reverse("sites-index"), reverse("sites-create"), *_site_urls(site)["get"]]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts-login")), url
    for url in _site_urls(site)["post"]:
        assert client.post(url).status_code == 302, url
    assert not Deployment.objects.exists()


def test_it_validates_ownership(client, bob, site):
    """Every page and action on alice's site is a 404 for bob, and changes nothing."""
    client.force_login(bob)
    urls = _site_urls(site)
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert client.post(url, {"source": "html", "html": "<p>bob</p>"}).status_code == 404
    site.refresh_from_db()
    assert site.content == PAGE and site.status == Status.LIVE
    assert not Deployment.objects.exists()
    assert b"blog" not in client.get(reverse("sites-index")).content


def test_list_shows_only_my_sites(alice_client, bob, site):
    Site.objects.create(owner=bob, name="bobs-site", content="x")
    response = alice_client.get(reverse("sites-index"))
    assert response.status_code == 200
    assert b"blog" in response.content and b"bobs-site" not in response.content


def test_empty_list_says_what_to_do(alice_client):
    response = alice_client.get(reverse("sites-index"))
    assert b"Deploy your first static site" in response.content


def test_create_records_site_and_queued_deployment(alice_client, alice, host_queue,
                                                  this_host,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("sites-create"),
                                     {"name": "docs", "source": "html", "html": PAGE})
    site = Site.objects.get(owner=alice, name="docs")
    assert response.status_code == 302 and response.url == site.get_absolute_url()
    assert site.content == PAGE and site.status == Status.PENDING
    assert site.stack_name.startswith(f"site-u{alice.pk}-")
    deployment = site.deployments.get()
    assert (deployment.action, deployment.status) == ("create", "queued")
    assert deployment.requested_by == alice
    assert site.host == this_host  # a local site lives on a host: its jobs go there
    assert host_queue.job_ids == [str(deployment.code)]
    assert host_queue.fetch_job(str(deployment.code)).args == [deployment.pk]  # JSON


def _create(client, **data):
    return client.post(reverse("sites-create"), {"source": "html", "html": PAGE, **data})


@pytest.mark.parametrize("name, message", [
    ("", "This field is required."),
    ("../etc", "lowercase letters, digits and hyphens"),
    ("a/b", "lowercase letters, digits and hyphens"),
    ("My Site", "lowercase letters, digits and hyphens"),
    ("-x", "lowercase letters, digits and hyphens"),
    ("x" * 64, "at most 63 characters"),
])
def test_bad_names_are_refused(alice_client, name, message):
    response = _create(alice_client, name=name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Site.objects.exists() and not Deployment.objects.exists()


def test_duplicate_name_is_refused(alice_client, site):
    response = _create(alice_client, name="blog")
    assert "You already have a site named blog." in response.content.decode()
    assert Site.objects.count() == 1 and not Deployment.objects.exists()


def test_same_name_for_two_users_is_fine(client, bob, site):
    client.force_login(bob)
    assert _create(client, name="blog").status_code == 302
    assert Site.objects.filter(name="blog").count() == 2


def test_empty_html_is_refused(alice_client):
    response = _create(alice_client, name="x", html="   ")
    assert "Paste the HTML of your page." in response.content.decode()
    assert not Site.objects.exists()


def test_huge_upload_is_refused(alice_client, settings):
    settings.SITE_MAX_BYTES = 1000
    big = SimpleUploadedFile("index.html", b"<p>" + b"a" * 2000, content_type="text/html")
    response = alice_client.post(reverse("sites-create"),
                                 {"name": "big", "source": "upload", "upload": big})
    assert "The page is 2,003 bytes; the limit is 1,000 bytes." in response.content.decode()
    assert not Site.objects.exists() and not Deployment.objects.exists()


def test_upload_is_published_content(alice_client, alice):
    page = SimpleUploadedFile("index.html", "<p>café</p>".encode(), content_type="text/html")
    _create(alice_client, name="up", source="upload", upload=page)
    assert Site.objects.get(name="up").content == "<p>café</p>"


def test_binary_upload_is_refused(alice_client):
    junk = SimpleUploadedFile("x.html", b"\xff\xfe\x00\x01", content_type="text/html")
    response = _create(alice_client, name="bin", source="upload", upload=junk)
    assert "not UTF-8 text" in response.content.decode()
    assert not Site.objects.exists()


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1/", "private, loopback or link-local"),
    ("http://169.254.169.254/latest/meta-data/", "private, loopback or link-local"),
    ("http://[::1]:8000/", "private, loopback or link-local"),
    ("http://10.1.2.3/", "private, loopback or link-local"),
    ("http://[2002:7f00:1::]/", "private, loopback or link-local"),  # 6to4 of 127.0.0.1
    ("http://localhost:8000/", "Addresses on this machine"),
    ("file:///etc/passwd", "Only http and https URLs"),
    ("ftp://example.com/x", "Only http and https URLs"),
    ("http://user:pw@example.com/", "user name or password"),
    ("", "Enter the URL"),
])
def test_unsafe_urls_are_refused_on_the_form(alice_client, url, message):
    response = _create(alice_client, name="fetched", source="url", url=url)
    assert message in response.content.decode()
    assert not Site.objects.exists() and not Deployment.objects.exists()


def test_url_source_is_not_fetched_by_the_request(alice_client):
    """The page is fetched later by the job: the request only records the URL."""
    response = _create(alice_client, name="remote", source="url",
                       url="http://example.invalid/page.html")
    assert response.status_code == 302
    site = Site.objects.get(name="remote")
    assert site.source_url == "http://example.invalid/page.html" and site.content == ""


def test_second_deployment_while_one_is_queued_is_refused(alice_client, site):
    alice_client.post(reverse("sites-refresh", args=[site.code]))
    response = alice_client.post(reverse("sites-update", args=[site.code]),
                                 {"source": "html", "html": "<p>new</p>"})
    assert "already queued or running" in response.content.decode()
    site.refresh_from_db()
    assert site.content == PAGE  # the refused update changed nothing
    assert site.deployments.count() == 1


def test_update_records_content_and_deployment(alice_client, site):
    response = alice_client.post(reverse("sites-update", args=[site.code]),
                                 {"source": "html", "html": "<p>v2</p>"})
    assert response.status_code == 302
    site.refresh_from_db()
    # The change travels with the deployment; the record takes it when it succeeds.
    assert site.content == PAGE and site.status == Status.UPDATING
    update = site.deployments.get()
    assert update.action == "update" and update.params["content"] == "<p>v2</p>"


def test_delete_needs_post_and_keeps_the_record(alice_client, site):
    assert alice_client.get(reverse("sites-delete", args=[site.code])).status_code == 200
    assert not site.deployments.exists()
    alice_client.post(reverse("sites-delete", args=[site.code]))
    site.refresh_from_db()
    assert site.status == Status.DELETING
    assert site.deployments.get().action == "destroy"


def test_retry_without_failure_is_refused(alice_client, site):
    response = alice_client.post(reverse("sites-retry", args=[site.code]), follow=True)
    assert "has nothing to retry" in response.content.decode()
    assert not site.deployments.exists()


def test_stored_html_is_escaped_on_platform_pages(alice_client, alice):
    Site.objects.create(owner=alice, name="xss", content="<script>alert(1)</script>",
                        source_url="http://e.com/<script>", last_error="<script>x</script>",
                        status=Status.FAILED)
    page = alice_client.get(Site.objects.get(name="xss").get_absolute_url()).content
    assert b"<script>" not in page


def test_platform_pages_send_a_content_security_policy(alice_client):
    response = alice_client.get(reverse("sites-index"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_list_is_paginated_by_key(alice_client, alice):
    Site.objects.bulk_create([
        Site(owner=alice, name=f"s{i:02d}", content="x", stack_name=f"site-u{alice.pk}-{i}",
             target="local") for i in range(60)])
    first = alice_client.get(reverse("sites-index")).content.decode()
    older = re.search(r'href="\?before=([^"]+)">Older', first).group(1)
    second = alice_client.get(reverse("sites-index"), {"before": unquote(older)}).content.decode()
    assert first.count('<td><a href="/sites/') == 50 and "Newest" not in first
    assert second.count('<td><a href="/sites/') == 10 and "Older" not in second
