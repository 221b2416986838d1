"""A site's whole life through the API, run by a real worker and the real engine."""
import pytest

from sites.models import Site

from .apiclient import Api, token_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def api(live_server, alice):
    return Api(live_server.url, token_for(alice, "deploy"))


def done(api, answer):
    """The deployment of a change's answer, after the worker ran it."""
    code = answer["deployment"]["code"] if "deployment" in answer else answer["code"]
    return api.get(f"deployments/{code}/")[1]


def test_create_preview_apply_update_refresh_delete(api, origin, fetch, run_jobs):
    status, answer, _ = api.post("sites/", {"name": "home", "source": "html",
                                            "html": "<p>one</p>"})
    code = answer["resource"]["code"]
    run_jobs()
    assert done(api, answer)["status"] == "succeeded"
    site = api.get(f"sites/{code}/")[1]
    assert site["status"] == "live" and fetch(site["url"]) == "<p>one</p>"

    # The log, incrementally: all of it, then nothing new after `next`.
    dep = answer["deployment"]["code"]
    log = api.get(f"deployments/{dep}/log/")[1]
    assert log["text"] and log["status"] == "succeeded" and not log["active"]
    again = api.get(f"deployments/{dep}/log/?after={log['next']}")[1]
    assert again["text"] == "" and again["next"] == log["next"]
    tail = api.get(f"deployments/{dep}/log/?after={log['next'] - 5}")[1]["text"]
    assert tail == log["text"][-5:]

    status, preview, _ = api.post(f"sites/{code}/preview/", {"html": "<p>two</p>"})
    assert status == 202 and preview["deployment"]["action"] == "preview"
    run_jobs()
    assert fetch(site["url"]) == "<p>one</p>"  # a preview changes nothing
    status, update, _ = api.post(f"deployments/{preview['deployment']['code']}/apply/")
    assert status == 202 and update["action"] == "update"
    run_jobs()
    assert fetch(site["url"]) == "<p>two</p>"
    assert Site.objects.get(code=code).content == "<p>two</p>"

    assert api("PATCH", f"sites/{code}/", {"html": "<p>three</p>"})[0] == 202
    run_jobs()
    assert fetch(site["url"]) == "<p>three</p>"
    status, refresh, _ = api.post(f"sites/{code}/refresh/")
    run_jobs()
    assert status == 202 and done(api, refresh)["status"] == "succeeded"

    status, gone, _ = api("DELETE", f"sites/{code}/")
    assert status == 202 and gone["resource"]["status"] == "deleting"
    run_jobs()
    assert api.get(f"sites/{code}/")[1]["status"] == "deleted"
    assert api.get("sites/")[1]["results"] == []
    history = api.get(f"sites/{code}/deployments/")[1]["results"]
    assert [d["action"] for d in history] == ["destroy", "refresh", "update", "update",
                                              "preview", "create"]


def test_a_failed_create_is_retried(api, origin, fetch, run_jobs, settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings.SITES_ROOT = blocker
    status, answer, _ = api.post("sites/", {"name": "broken", "source": "html",
                                            "html": "<p>x</p>"})
    run_jobs()
    failed = done(api, answer)
    assert failed["status"] == "failed" and failed["error"]
    code = answer["resource"]["code"]
    assert api.get(f"sites/{code}/")[1]["last_error"] == failed["error"]
    settings.SITES_ROOT = tmp_path / "sites"
    status, retry, _ = api.post(f"sites/{code}/retry/")
    assert status == 202
    run_jobs()
    assert fetch(api.get(f"sites/{code}/")[1]["url"]) == "<p>x</p>"
