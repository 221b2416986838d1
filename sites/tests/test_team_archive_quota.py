"""The archive bytes quota counts per owner (issue #18's loose end): a team site's archives
count to the team, whoever uploaded them, and a personal site's to its owner's personal
sites only; the check is made again under the same per-owner lock as the other quotas,
so two uploads at once cannot both pass."""
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.urls import reverse

from accounts.models import Membership, Team
from sites.forms import SiteCreateForm
from sites.models import Site, SiteArchive
from stacks import services
from stacks.resource_views import add_owner_field
from stacks.tests.apiclient import token_for
from stacks.tests.locks import quota_locks_held

from .test_archive import make_zip
from .test_folder_form import upload

pytestmark = pytest.mark.django_db
INDEX = make_zip({"index.html": bytes(range(256))})  # a few hundred bytes


@pytest.fixture
def team(alice, django_user_model, settings):
    settings.QUOTA_SITE_ARCHIVE_BYTES = 1000
    team = Team.start("ops", alice)
    dee = django_user_model.objects.create_user("dee")
    Membership.objects.create(team=team, user=dee, role="deployer")
    return team


def archived(owner, team=None, size=900, name="old"):
    site = Site.objects.create(owner=owner, team=team, name=name, status="live")
    SiteArchive.objects.create(site_code=site.code, sha256=f"{size:064d}", data=b"x",
                               size=size)
    return site


def create(client, **fields):
    return client.post(reverse("sites-create"), {
        "name": "more", "source": "archive", "folder": upload(INDEX), **fields})


def test_a_team_upload_counts_every_members_team_archives(team, alice_client, django_user_model):
    archived(django_user_model.objects.get(username="dee"), team)
    response = create(alice_client, team="ops")
    assert ("The team ops's sites' archives already take 900 bytes of its 1,000 bytes"
            in response.context["form"].errors["folder"][0])
    assert not Site.objects.filter(name="more").exists()


def test_team_archives_do_not_count_to_their_creators_personal_sites(team, alice,
                                                                     alice_client):
    archived(alice, team)
    assert create(alice_client).status_code == 302
    assert Site.objects.get(name="more").team is None


def test_personal_archives_do_not_count_to_the_team(team, alice, alice_client):
    archived(alice)
    assert create(alice_client, team="ops").status_code == 302
    assert Site.objects.get(name="more").team == team


def test_a_deployer_updating_a_team_site_is_held_to_the_teams_quota(
        team, alice, django_user_model, client):
    site = archived(alice, team)
    client.force_login(django_user_model.objects.get(username="dee"))
    response = client.post(reverse("sites-update", args=[site.code]),
                           {"source": "archive", "folder": upload(INDEX)})
    assert "The team ops's sites' archives already take 900 bytes" in \
        response.context["form"].errors["folder"][0]


@pytest.mark.django_db(transaction=True)
def test_an_upload_waits_for_the_teams_quota_lock_not_a_personal_one(team, alice):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    team_form, personal_form = (checked_form(alice, owner) for owner in ("ops", ""))
    with quota_locks_held(Site(owner=alice, team=team)):
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = 1500")
            team_form.save(commit=False)
        with transaction.atomic():  # the same upload, personal: not held up
            assert personal_form.save(commit=False).archive


def checked_form(user, team_slug):
    form = add_owner_field(SiteCreateForm(
        {"name": "more", "source": "archive", "team": team_slug},
        {"folder": upload(INDEX)}, owner=user), user)
    assert form.is_valid(), form.errors
    return form


@pytest.mark.django_db(transaction=True)
def test_two_team_uploads_at_once_cannot_both_pass_the_quota(team, alice, client):
    """Another member's upload holds the team's lock while this one's form is checked
    (it sees 0 bytes kept), then commits 900 bytes: the check made again under the lock
    refuses this one (409), where the form's check alone let it through."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    other = Site.objects.create(owner=alice, team=team, name="other", status="live")
    taken, failed = threading.Event(), []

    def concurrent_upload():
        try:
            with transaction.atomic():
                services.lock_quotas(other)
                SiteArchive.objects.create(site_code=other.code, sha256="9" * 64,
                                           data=b"x", size=900)
                taken.set()
                time.sleep(1.5)
        except Exception as exc:  # noqa: BLE001 - reported below
            failed.append(exc)
            taken.set()
        finally:
            connection.close()

    thread = threading.Thread(target=concurrent_upload)
    thread.start()
    assert taken.wait(10) and not failed, failed
    response = client.post("/api/v1/sites/", {
        "name": "more", "source": "archive", "team": "ops", "folder": upload(INDEX)},
        HTTP_AUTHORIZATION=f"Bearer {token_for(alice, 'deploy')}")
    thread.join(30)
    assert not failed, failed
    assert response.status_code == 409, response.content
    assert "already take 900 bytes of its 1,000 bytes" in response.content.decode()
    assert not Site.objects.filter(name="more").exists()
    assert SiteArchive.objects.count() == 1
