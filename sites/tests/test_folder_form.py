"""Uploading a site's folder: every hostile archive refused on the form with its reason,
nothing recorded, nothing written; a good one kept in the database for the job."""
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sites.models import Release, Site, SiteArchive
from stacks.models import Deployment

from .test_archive import gigabyte_of_zeros_zip, make_tar, make_zip, tar_file

pytestmark = pytest.mark.django_db


def symlink_zip():
    link = zipfile.ZipInfo("passwd.html")
    link.external_attr = 0o120777 << 16
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", b"ok")
        archive.writestr(link, b"/etc/passwd")
    return out.getvalue()


def non_utf8_zip():
    return make_zip({"index.html": b"ok", "cafX.html": b"x"}).replace(b"cafX", b"caf\xe9")


HOSTILE = {
    "zip-slip": (lambda: make_zip({"index.html": b"ok", "../../evil.html": b"x"}),
                 "points outside the site"),
    "absolute path": (lambda: make_tar([tar_file("index.html", b"ok"),
                                        tar_file("/etc/cron.d/evil", b"x")]),
                      "is an absolute path"),
    "symlink": (symlink_zip, "is a symbolic link"),
    "10,000 tiny files": (lambda: make_zip({f"f{i}.txt": b"" for i in range(10_000)}),
                          "more than 5,000 files"),
    "zip bomb": (gigabyte_of_zeros_zip, "larger than 25 MB"),
    "non-UTF-8 names": (non_utf8_zip, "is not UTF-8"),
    "not an archive": (lambda: b"<h1>just a page</h1>", "not a .zip or .tar.gz"),
    "no index.html": (lambda: make_zip({"about.html": b"x"}), "has no index.html"),
}


def upload(data, name="site.zip"):
    return SimpleUploadedFile(name, data, "application/octet-stream")


@pytest.fixture
def sites_root(settings, tmp_path):
    settings.SITES_ROOT = tmp_path / "sites"
    return settings.SITES_ROOT


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_archive_is_refused_with_its_reason(kind, alice_client, sites_root,
                                                       tmp_path):
    build, reason = HOSTILE[kind]
    before = sorted(tmp_path.rglob("*"))
    response = alice_client.post(reverse("sites-create"), {
        "name": "evil", "source": "archive", "folder": upload(build())})
    assert response.status_code == 200
    assert reason in response.context["form"].errors["folder"][0]
    assert not Site.objects.exists() and not SiteArchive.objects.exists()
    assert not Deployment.objects.exists()
    assert sorted(tmp_path.rglob("*")) == before


def test_an_archive_past_the_upload_limit_is_refused(alice_client, settings):
    settings.SITE_ARCHIVE_MAX_BYTES = 100
    response = alice_client.post(reverse("sites-create"), {
        "name": "big", "source": "archive", "folder": upload(make_zip({"index.html":
                                                                          bytes(range(256))}))})
    assert "the limit is 100 bytes" in response.context["form"].errors["folder"][0]


def test_a_good_archive_is_kept_in_the_database_for_the_job(alice_client, sites_root):
    data = make_tar([tar_file("site/index.html", b"<h1>hi</h1>")])
    response = alice_client.post(reverse("sites-create"), {
        "name": "good", "source": "archive", "folder": upload(data, "site.tar.gz")})
    assert response.status_code == 302
    site = Site.objects.get(name="good")
    kept = SiteArchive.objects.get(site_code=site.code)
    assert bytes(kept.data) == data and site.archive == kept.sha256
    assert site.source == "archive" and site.content == ""
    assert not sites_root.exists()  # unpacked by the job, on the site's host


def test_an_update_carries_the_archive_in_its_params_until_it_succeeds(alice_client, alice):
    site = Site.objects.create(owner=alice, name="s", content="<p>old</p>", status="live")
    data = make_zip({"index.html": b"<p>new</p>"})
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "archive", "folder": upload(data)})
    deployment = site.deployments.get()
    site.refresh_from_db()
    assert site.content == "<p>old</p>" and site.archive == ""
    assert deployment.params["source"] == "archive"
    assert SiteArchive.objects.get(sha256=deployment.params["archive"]).size == len(data)


def test_a_stranger_can_neither_roll_back_nor_compare(client, alice, bob):
    site = Site.objects.create(owner=alice, name="s", status="live")
    client.force_login(bob)
    assert client.post(reverse("sites-rollback", args=[site.code]),
                       {"release": 1}).status_code == 404
    assert client.get(reverse("sites-release-diff", args=[site.code]),
                      {"from": 1, "to": 2}).status_code == 404
    assert not Deployment.objects.exists()


def test_rolling_back_to_the_live_release_is_refused(alice_client, alice):
    site = Site.objects.create(owner=alice, name="s", status="live")
    Release.objects.create(site=site, number=1, source="html", content="<p>1</p>",
                           content_hash="a" * 64)
    response = alice_client.post(reverse("sites-rollback", args=[site.code]),
                                 {"release": 1}, follow=True)
    assert "v1 is the live release already." in response.content.decode()
    assert not Deployment.objects.exists()


def test_pruning_keeps_the_newest_and_the_archives_they_need(alice):
    site = Site.objects.create(owner=alice, name="s", status="live")
    old = SiteArchive.objects.create(site_code=site.code, sha256="1" * 64, data=b"1", size=1,
                                     used="2020-01-01T00:00Z")
    fresh = SiteArchive.objects.create(site_code=site.code, sha256="9" * 64, data=b"9",
                                       size=1)  # just uploaded: a queued update's
    for n in (1, 2, 3):
        Release.objects.create(site=site, number=n, source="archive",
                               archive=str(n) * 64, content_hash=str(n) * 64)
    SiteArchive.objects.create(site_code=site.code, sha256="3" * 64, data=b"3", size=1,
                               used="2020-01-01T00:00Z")
    assert Release.prune(site, keep=1) == 2
    assert [r.number for r in site.releases.all()] == [3]
    left = set(SiteArchive.objects.values_list("sha256", flat=True))
    assert left == {"3" * 64, fresh.sha256} and old.sha256 not in left


def test_a_release_is_never_changed(alice):
    site = Site.objects.create(owner=alice, name="s", status="live")
    release = Release.objects.create(site=site, number=1, source="html", content_hash="a")
    release.content_hash = "b"
    with pytest.raises(ValueError):
        release.save()


def test_the_admin_lists_releases_read_only_and_domains(client, alice, django_user_model):
    from sites.models import SiteDomain

    site = Site.objects.create(owner=alice, name="s", status="live")
    release = Release.objects.create(site=site, number=1, source="html", content_hash="a")
    SiteDomain.objects.create(site=site, name="www.s.example")
    client.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))
    assert client.get("/admin/sites/release/").status_code == 200
    assert client.get(f"/admin/sites/release/{release.pk}/change/").status_code == 200
    assert client.get("/admin/sites/release/add/").status_code == 403
    page = client.get("/admin/sites/sitedomain/").content.decode()
    assert "www.s.example" in page


def test_an_upload_past_the_owners_archive_quota_is_refused(alice_client, alice, settings):
    settings.QUOTA_SITE_ARCHIVE_BYTES = 1000
    site = Site.objects.create(owner=alice, name="s", status="live")
    SiteArchive.objects.create(site_code=site.code, sha256="1" * 64, data=b"x", size=900)
    response = alice_client.post(reverse("sites-create"), {
        "name": "more", "source": "archive",
        "folder": upload(make_zip({"index.html": bytes(range(256))}))})
    assert "already take 900 bytes of your 1,000 bytes" in \
        response.context["form"].errors["folder"][0]


def test_staging_leaves_nothing_behind_on_failure_and_clears_what_others_left(
        alice, sites_root):
    from sites import tree

    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    leftover = sites_root / ".staging" / f"{site.host_label}.old"
    leftover.mkdir(parents=True)
    # Another site whose label starts with ours (a taken label's "-xxxx" suffix).
    other = sites_root / ".staging" / f"{site.host_label}-1a2b.x"
    other.mkdir()
    bomb = make_zip({"index.html": b"ok", "big.html": bytes(30 * 1024 * 1024)})
    with pytest.raises(tree.StageError, match="inflates more than|larger than"):
        tree.stage(site, bomb)
    assert sorted(p.name for p in (sites_root / ".staging").iterdir()) == [other.name]
    staged = tree.stage(site, make_zip({"site/index.html": b"<p>hi</p>"}))
    assert sorted(staged.manifest) == ["index.html"]
    assert (sites_root / ".staging" / staged.folder.rsplit("/", 1)[1] / "index.html").exists()


def test_the_same_files_stage_to_the_same_folder_so_a_previewed_plan_holds(alice, sites_root):
    from sites import tree

    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    first = tree.stage(site, make_zip({"site/index.html": b"<p>hi</p>"}))
    again = tree.stage(site, make_zip({"site/index.html": b"<p>hi</p>"}))
    assert again.folder == first.folder and (Path(again.folder) / "index.html").exists()
    other = tree.stage(site, make_zip({"site/index.html": b"<p>bye</p>"}))
    assert other.folder != first.folder and not Path(first.folder).exists()


def test_a_cloud_sites_files_stage_in_the_private_data_dir_not_the_shared_tmp(alice, settings):
    from sites import tree

    site = Site.objects.create(owner=alice, name="s", status="live", target="aws")
    staged = tree.stage(site, make_zip({"site/index.html": b"<p>hi</p>"}))
    parent = Path(staged.folder).parent
    assert parent == Path(settings.DATA_DIR) / "staging"
    assert parent.stat().st_mode & 0o077 == 0  # nobody else may enter or rename in it
    tree.discard(staged)
    assert not Path(staged.folder).exists()
