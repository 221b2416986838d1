"""Preview and refresh through the UI, a real worker and the real engine (local target)."""
import hashlib

import pytest
from django.urls import reverse

from sites.archive import tree_hash
from stacks.models import Status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_preview_shows_the_change_then_apply_deploys_it(alice_client, live_site, run_jobs,
                                                        fetch):
    response = alice_client.post(reverse("sites-update", args=[live_site.code]),
                                 {"source": "html", "html": "<p>two</p>", "preview": "1"})
    run_jobs()
    preview = live_site.deployments.first()
    assert preview.action == "preview" and preview.status == "succeeded", preview.full_log()
    assert preview.summary["changes"] == {"update": 1, "same": 1}
    assert fetch(live_site.website_url) == "<p>one</p>"  # nothing changed yet
    page = alice_client.get(response.url).content.decode()
    assert "This update would:" in page and "Deploy these changes" in page

    alice_client.post(reverse("stacks-deployment-apply", args=[preview.code]))
    run_jobs()
    live_site.refresh_from_db()
    assert live_site.status == Status.LIVE and live_site.content == "<p>two</p>"
    assert fetch(live_site.website_url) == "<p>two</p>"
    stale = alice_client.post(reverse("stacks-deployment-apply", args=[preview.code]),
                              follow=True)
    assert "changed since this preview" in stale.content.decode()


def test_refresh_reports_drift(alice_client, live_site, run_jobs, settings):
    alice_client.post(reverse("sites-refresh", args=[live_site.code]))
    run_jobs()
    clean = live_site.deployments.first()
    page = alice_client.get(clean.get_absolute_url()).content.decode()
    assert "No drift" in page

    (settings.SITES_ROOT / live_site.host_label / "live" / "index.html").write_text("defaced")
    alice_client.post(reverse("sites-refresh", args=[live_site.code]))
    run_jobs()
    drift = live_site.deployments.first()
    assert drift.summary["changes"].get("update") == 1
    assert "Drift found" in alice_client.get(drift.get_absolute_url()).content.decode()
    live_site.refresh_from_db()  # the record now shows what is really published
    defaced = {"index.html": (7, hashlib.sha256(b"defaced").hexdigest())}
    assert live_site.outputs["content_hash"] == tree_hash(defaced)
