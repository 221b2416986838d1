"""Whole-folder sites, releases and rollback through the API (issue #16 over #15), over
real HTTP against a live server: the pages' form checks the folder, the same refusals."""
import io
import zipfile

import pytest

from sites.models import Site
from sites.releases import Release
from stacks.models import Deployment, Status
from stacks.tests.apiclient import Api, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def zip_of(files):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def api(live_server, alice):
    return Api(live_server.url, token_for(alice, "read", "deploy"))


@pytest.fixture
def site(alice):
    """alice's live site with two releases (v2 live), made directly: no engine."""
    site = Site.objects.create(owner=alice, name="mine", content="<p>2</p>", status=Status.LIVE)
    for number in (1, 2):
        Release.objects.create(site=site, number=number, source="html",
                               content=f"<p>{number}</p>", content_hash=f"{number}" * 64,
                               files={"index.html": [8, f"{number}" * 64]}, total_bytes=8,
                               file_count=1)
    return site


def test_a_folder_is_sent_as_multipart_and_queued_as_a_create(api, alice):
    status, body, _ = api.upload("POST", "sites/", {"name": "folder", "source": "archive"}, {
        "folder": ("site.zip", zip_of({"site/index.html": b"<p>hi</p>",
                                       "site/css/a.css": b"p {}"}))})
    assert status == 200 and body["deployment"]["action"] == "create"
    site = Site.objects.get(name="folder", owner=alice)
    assert site.source == "archive" and len(site.archive) == 64
    assert body["resource"]["code"] == str(site.code)


def test_a_hostile_folder_gets_the_forms_message_and_nothing_is_recorded(api):
    status, body, _ = api.upload("POST", "sites/", {"name": "evil", "source": "archive"}, {
        "folder": ("site.zip", zip_of({"index.html": b"x", "../escape.html": b"x"}))})
    assert status == 400 and body["errors"]["folder"]
    assert not Site.objects.filter(name="evil").exists()
    assert not Deployment.objects.exists()


def test_releases_are_listed_newest_first_with_the_live_one_marked(api, site):
    status, rows, _ = api.get(f"sites/{site.code}/releases/")
    assert status == 200
    assert [(r["number"], r["live"], r["file_count"]) for r in rows] == \
        [(2, True, 1), (1, False, 1)]


def test_a_rollback_is_an_update_deployment_publishing_that_release(api, site):
    status, body, _ = api.post(f"sites/{site.code}/rollback/", {"release": 1})
    assert status == 202 and body["deployment"]["action"] == "update"
    dep = Deployment.objects.get(code=body["deployment"]["code"])
    assert dep.status == "queued"
    assert dep.params["release"] == str(site.releases.get(number=1).code)
    assert dep.params["content"] == "<p>1</p>"


def test_a_rollback_to_the_live_or_a_missing_release_is_refused(api, site):
    status, body, _ = api.post(f"sites/{site.code}/rollback/", {"release": 2})
    assert status == 409 and body["detail"] == "v2 is the live release already."
    assert api.post(f"sites/{site.code}/rollback/", {"release": 9})[0] == 404
    status, body, _ = api.post(f"sites/{site.code}/rollback/", {"release": "x"})
    assert status == 400 and body["errors"]["release"]
    assert not Deployment.objects.exists()


def test_a_read_token_cannot_roll_back_and_a_stranger_finds_nothing(live_server, alice, bob,
                                                                     site):
    reader = Api(live_server.url, token_for(alice, "read"))
    assert reader.get(f"sites/{site.code}/releases/")[0] == 200
    assert reader.post(f"sites/{site.code}/rollback/", {"release": 1})[0] == 403
    stranger = Api(live_server.url, token_for(bob, "read", "deploy"))
    assert stranger.get(f"sites/{site.code}/releases/")[0] == 404
    assert stranger.post(f"sites/{site.code}/rollback/", {"release": 1})[0] == 404
    assert not Deployment.objects.exists()
