"""A folder picked in the browser (files, and their paths from static/js/folder.js):
the same tree as the zip of that folder, through the same hostile-input checks; every
refusal a form error, nothing recorded, nothing written."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sites.archive import unpack
from sites.picked import archive_of
from sites.models import Site, SiteArchive
from sites.tree import limits
from stacks.models import Deployment

from .test_archive import make_zip

pytestmark = pytest.mark.django_db

FOLDER = {"mysite/index.html": b"<h1>Home</h1>", "mysite/css/site.css": b"h1 {}",
          "mysite/img/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
          "mysite/docs/guide/index.html": b"<h1>Guide</h1>", "mysite/empty.txt": b""}


def pick(client, folder, *, paths=None, url=None, extra=None):
    """POST the folder as the browser does: each file its own part under its base name,
    the relative paths (unless given otherwise) as JSON in picked_paths."""
    files = [SimpleUploadedFile(p.rsplit("/", 1)[-1], data, "application/octet-stream")
             for p, data in folder.items()]
    data = {"name": "picked", "source": "archive", "picked": files,
            "picked_paths": json.dumps(list(folder) if paths is None else paths),
            **(extra or {})}
    if paths is False:
        del data["picked_paths"]
    return client.post(url or reverse("sites-create"), data)


def test_a_picked_folder_is_kept_as_the_same_tree_as_its_zip(alice_client):
    response = pick(alice_client, {**FOLDER, "mysite/.DS_Store": b"junk",
                                   "mysite/.git/config": b"[core]"})
    assert response.status_code == 302
    site = Site.objects.get(name="picked")
    kept = SiteArchive.objects.get(site_code=site.code)
    assert site.source == "archive" and site.archive == kept.sha256
    tree = unpack(bytes(kept.data), limits())
    assert tree == unpack(make_zip(FOLDER), limits())  # what uploading its zip gives
    assert sorted(tree) == ["css/site.css", "docs/guide/index.html", "empty.txt",
                            "img/logo.png", "index.html"]  # top folder and dot files gone
    assert site.deployments.get().action == "create"


def test_the_same_folder_picked_twice_is_the_same_archive():
    """So redeploying an unchanged folder stages to the same path (sites/tree.py)."""
    def files():
        return [SimpleUploadedFile(p.rsplit("/", 1)[-1], d) for p, d in FOLDER.items()]

    first = archive_of(files(), json.dumps(list(FOLDER)), limits())
    assert archive_of(files(), json.dumps(list(FOLDER)), limits()) == first


def test_very_compressible_files_are_no_zip_bomb_when_picked(alice_client):
    response = pick(alice_client, {"s/index.html": b"<p>" + b" " * 5_000_000})
    assert response.status_code == 302


@pytest.mark.parametrize("paths, reason", [
    (["mysite/../../etc/cron.d/evil", "b", "c", "d", "e"], "points outside the site"),
    (["/etc/passwd", "b", "c", "d", "e"], "is an absolute path"),
    (["C:/index.html", "b", "c", "d", "e"], "is an absolute path"),
    (["mysite\\..\\index.html", "b", "c", "d", "e"], "contains a backslash"),
    (["mysite/index\x00.html", "b", "c", "d", "e"], "control characters"),
    (list(FOLDER)[:4], "sent 5 files but 4 paths"),
    ("not a list", "did not send where each file"),
    (False, "did not send where each file"),  # no JavaScript: no paths at all
    (["mysite/css/site.css", *list(FOLDER)[1:]], "sent 'index.html' where"),
    (["mysite/a/index.html", "mysite/a/index.html", *list(FOLDER)[2:]], "sent 'site.css'"),
])
def test_a_hostile_or_broken_pick_is_refused_with_its_reason(alice_client, paths, reason,
                                                             settings, tmp_path):
    settings.SITES_ROOT = tmp_path / "sites"
    response = pick(alice_client, FOLDER, paths=paths)
    assert response.status_code == 200
    assert reason in response.context["form"].errors["picked"][0]
    assert not Site.objects.exists() and not SiteArchive.objects.exists()
    assert not Deployment.objects.exists() and not list(tmp_path.iterdir())


def test_a_file_picked_twice_under_one_path_is_refused(alice_client):
    folder = {"s/index.html": b"a", "t/index.html": b"b"}
    response = pick(alice_client, folder, paths=["s/index.html", "s/index.html"])
    assert "picked twice" in response.context["form"].errors["picked"][0]


def test_the_limits_of_an_archive_hold_for_a_picked_folder(alice_client, settings):
    settings.SITE_MAX_FILES = 3
    response = pick(alice_client, FOLDER)
    assert "more than 3 files" in response.context["form"].errors["picked"][0]
    settings.SITE_MAX_FILES, settings.SITE_UNPACKED_MAX_BYTES = 100, 200
    response = pick(alice_client, FOLDER)
    assert "the most a site may hold" in response.context["form"].errors["picked"][0]
    settings.SITE_UNPACKED_MAX_BYTES = 10_000
    response = pick(alice_client, {"s/about.html": b"x", "s/css/a.css": b"y"})
    assert "no index.html" in response.context["form"].errors["picked"][0]
    assert not Site.objects.exists()


def test_more_files_than_django_allows_by_default_reach_the_form(alice_client, settings):
    folder = {f"s/f{i}.txt": b"x" for i in range(150)} | {"s/index.html": b"ok"}
    assert pick(alice_client, folder).status_code == 302  # Django's default is 100


def test_the_form_offers_a_folder_picker_beside_the_archive(alice_client):
    page = alice_client.get(reverse("sites-create")).content.decode()
    assert 'webkitdirectory' in page and 'data-folder-picker="picked_paths"' in page
    assert 'name="folder"' in page and "js/folder.js" in page


def test_the_picker_carries_the_front_doors_limits_for_the_page_to_check(alice_client, settings):
    settings.REQUEST_MAX_BYTES_SITE_FORM, settings.SITE_MAX_FILES = 10 * 1024 * 1024, 321
    page = alice_client.get(reverse("sites-create")).content.decode()
    assert f'data-max-bytes="{10 * 1024 * 1024 - 64 * 1024}"' in page
    assert 'data-max-files="321"' in page


@pytest.mark.django_db(transaction=True)
def test_a_failed_aws_deploy_leaves_no_staged_files_behind(alice_client, settings,
                                                           run_jobs, monkeypatch, tmp_path):
    """AWS refusing the update is the one thing stood in for (no AWS here)."""
    from pathlib import Path

    from stacks import engine

    def refused(*args, **kwargs):
        assert list(staging.iterdir())  # the files were staged for the upload
        raise engine.EngineError("AccessDenied: not authorized to perform s3:CreateBucket")

    settings.HEROCOOL_TARGET, settings.DATA_DIR = "aws", tmp_path / "data"
    staging = Path(settings.DATA_DIR) / "staging"
    monkeypatch.setattr(engine, "up", refused)
    assert pick(alice_client, FOLDER).status_code == 302
    run_jobs()
    site = Site.objects.get(name="picked")
    assert site.status == "failed" and "AccessDenied" in site.last_error
    assert list(staging.iterdir()) == []
