"""A whole-folder site through the real engine and a real RQ worker: published, served
file by file, released again, compared, rolled back, pruned and deleted."""
import gzip
import http.client
import io
import os
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sites.models import Release, Site, SiteArchive
from stacks.models import Status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
FIRST = {
    "mysite/index.html": b"<!doctype html><link rel=stylesheet href=css/site.css><h1>v1</h1>",
    "mysite/css/site.css": b"h1 { color: teal }\n" + b"/* padding */\n" * 40,
    "mysite/img/logo.png": PNG,
    "mysite/docs/guide/index.html": b"<h1>The guide</h1>",
    "mysite/404.html": b"<h1>Lost? This is our own 404.</h1>",
}
SECOND = {**FIRST, "mysite/css/site.css": b"h1 { color: crimson }",
          "mysite/about.html": b"<h1>About us</h1>"}


def zipped(files):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return SimpleUploadedFile("site.zip", out.getvalue(), "application/zip")


def get(port, site, path, headers=None):
    """(status, headers, body bytes) from the sites origin, for the site's host name."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"Host": f"{site.host_label}.localhost",
                                       **(headers or {})})
    response = conn.getresponse()
    result = response.status, response.headers, response.read()
    conn.close()
    return result


def test_a_folder_site_is_served_released_compared_rolled_back_and_deleted(
        alice_client, origin, run_jobs, settings):
    settings.SITES_KEEP_RELEASES = 2
    response = alice_client.post(reverse("sites-create"), {
        "name": "folder", "source": "archive", "folder": zipped(FIRST)})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert run_jobs() == 1
    site = Site.objects.get(name="folder")
    assert site.status == Status.LIVE, site.last_error

    # Every file with its type; folders give their index.html; a miss the site's 404.
    for path, kind, body in [
            ("/", "text/html; charset=utf-8", FIRST["mysite/index.html"]),
            ("/css/site.css", "text/css; charset=utf-8", FIRST["mysite/css/site.css"]),
            ("/img/logo.png", "image/png", PNG),
            ("/docs/guide/", "text/html; charset=utf-8", b"<h1>The guide</h1>")]:
        status, headers, got = get(origin, site, path)
        assert (status, headers["Content-Type"], got) == (200, kind, body), path
        assert headers["X-Content-Type-Options"] == "nosniff"
    status, _, got = get(origin, site, "/no/such/page")
    assert (status, got) == (404, FIRST["mysite/404.html"])

    # Conditional GET and compression.
    _, headers, _ = get(origin, site, "/css/site.css")
    assert get(origin, site, "/css/site.css", {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(origin, site, "/css/site.css",
               {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    status, zipped_headers, body = get(origin, site, "/css/site.css",
                                       {"Accept-Encoding": "gzip"})
    assert zipped_headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == FIRST["mysite/css/site.css"]
    assert get(origin, site, "/img/logo.png",
               {"Accept-Encoding": "gzip"})[1]["Content-Encoding"] is None

    [v1] = site.releases.all()
    assert (v1.number, v1.source, v1.file_count) == (1, "archive", 5)
    assert v1.files["css/site.css"][0] == len(FIRST["mysite/css/site.css"])
    assert v1.created_by.username == "alice" and v1.deployment.action == "create"
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert 'id="releases"' in page and "v1" in page

    # A second release changes one file and adds one: the diff lists exactly those.
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "archive", "folder": zipped(SECOND)})
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.LIVE, site.last_error
    assert get(origin, site, "/css/site.css")[2] == b"h1 { color: crimson }"
    assert get(origin, site, "/about.html")[2] == b"<h1>About us</h1>"
    diff = alice_client.get(reverse("sites-release-diff", args=[site.code]),
                            {"from": 1, "to": 2})
    assert diff.context["added"] == ["about.html"]
    assert diff.context["removed"] == []
    assert diff.context["changed"] == ["css/site.css"]

    # Rollback: an update deployment with its log; the first content is served again.
    response = alice_client.post(reverse("sites-rollback", args=[site.code]), {"release": 1})
    assert response.status_code == 302
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.LIVE, site.last_error
    assert get(origin, site, "/css/site.css")[2] == FIRST["mysite/css/site.css"]
    assert get(origin, site, "/about.html")[0] == 404
    rollback = site.deployments.first()
    assert rollback.action == "update" and rollback.status == "succeeded"
    assert "Rolling back to release v1" in rollback.full_log()

    # Kept: the newest two releases (v3 = v1 again, live) and their two folders.
    assert [r.number for r in site.releases.all()] == [3, 2]
    v3 = site.releases.get(number=3)
    assert v3.rollback_of == 1 and v3.content_hash == v1.content_hash
    site_dir = Path(settings.SITES_ROOT) / site.host_label
    assert {p.name for p in (site_dir / "releases").iterdir()} == {
        v1.content_hash, site.releases.get(number=2).content_hash}
    assert os.readlink(site_dir / "live") == f"releases/{v1.content_hash}"

    alice_client.post(reverse("sites-delete", args=[site.code]))
    run_jobs()
    site.refresh_from_db()
    assert site.status == Status.DELETED
    assert not site_dir.exists()
    assert not list((Path(settings.SITES_ROOT) / ".staging").glob(f"{site.host_label}.*"))
    assert not SiteArchive.objects.filter(site_code=site.code).exists()
    assert Release.objects.filter(site=site).count() == 2  # history stays


def test_a_one_page_site_is_a_release_too_and_rolls_back(alice_client, origin, run_jobs,
                                                         settings):
    alice_client.post(reverse("sites-create"),
                      {"name": "page", "source": "html", "html": "<h1>one</h1>"})
    run_jobs()
    site = Site.objects.get(name="page")
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": "<h1>two</h1>"})
    run_jobs()
    assert get(origin, site, "/")[2] == b"<h1>two</h1>"
    alice_client.post(reverse("sites-rollback", args=[site.code]), {"release": 1})
    run_jobs()
    site.refresh_from_db()
    assert get(origin, site, "/")[2] == b"<h1>one</h1>"
    assert site.content == "<h1>one</h1>"  # the record says what is live
    assert [r.file_count for r in site.releases.all()] == [1, 1, 1]
