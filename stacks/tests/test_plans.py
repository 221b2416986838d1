"""Apply exactly what was previewed, through a real worker and the real engine: the
preview saves an update plan; applying it follows the plan; an update whose inputs
changed since the preview departs from the plan and is refused, changing nothing."""
import json

import pytest
from django.urls import reverse

from stacks.models import Status
from stacks.plans import PLAN_OF

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def preview_of(alice_client, site, html, run_jobs):
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": html, "preview": "1"})
    run_jobs()
    preview = site.deployments.first()
    assert preview.action == "preview" and preview.status == "succeeded", preview.full_log()
    return preview


def test_a_preview_saves_its_plan_and_apply_follows_it(alice_client, live_site, run_jobs,
                                                      fetch):
    preview = preview_of(alice_client, live_site, "<p>two</p>", run_jobs)
    plan = json.loads(json.loads(preview.summary["plan"])["plan"])
    assert plan["resourcePlans"]  # Pulumi's plan: what each resource may become
    alice_client.post(reverse("stacks-deployment-apply", args=[preview.code]))
    update = live_site.deployments.first()
    assert update.action == "update" and update.params[PLAN_OF] == str(preview.code)
    run_jobs()
    update.refresh_from_db()
    live_site.refresh_from_db()
    assert update.status == "succeeded", update.full_log()
    assert live_site.content == "<p>two</p>" and fetch(live_site.website_url) == "<p>two</p>"


def test_an_update_whose_inputs_changed_since_the_preview_is_refused_by_the_plan(
        alice_client, live_site, run_jobs, fetch, settings):
    preview = preview_of(alice_client, live_site, "<p>two</p>", run_jobs)
    outputs = dict(live_site.outputs)
    # Meanwhile the operator moves where sites are served: an input of the program.
    settings.SITES_URL_TEMPLATE = settings.SITES_URL_TEMPLATE.replace("{host}.", "{host}.new.")
    alice_client.post(reverse("stacks-deployment-apply", args=[preview.code]))
    run_jobs()
    update = live_site.deployments.first()
    live_site.refresh_from_db()
    assert update.action == "update" and update.status == "failed"
    assert "departs from the plan you approved" in update.error
    assert live_site.status == Status.FAILED and live_site.content == "<p>one</p>"
    assert live_site.outputs == outputs
    assert fetch(outputs["website_url"]) == "<p>one</p>"  # the page is as it was
