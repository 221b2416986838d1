"""The API over real HTTP against a live server: tokens and their scopes, ownership,
errors with the forms' messages, the services' refusals, rate limits, cursor pages."""
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Token
from sites.models import Site
from stacks.models import Deployment, Status

from .apiclient import Api, token_for

pytestmark = pytest.mark.django_db(transaction=True)
HTML = {"name": "home", "source": "html", "html": "<p>hello</p>"}


@pytest.fixture
def api(live_server, alice):
    """alice's API with a token of every scope."""
    return Api(live_server.url, token_for(alice, "read", "deploy", "machines"))


@pytest.fixture
def site(alice):
    """alice's live site with one succeeded deployment (made directly, no engine)."""
    site = Site.objects.create(owner=alice, name="mine", content="<p>x</p>",
                               status=Status.LIVE)
    Deployment.objects.create(resource=site, owner=alice, stack_name=site.stack_name,
                              action="create", status="succeeded", requested_by=alice)
    return site


def every_site_call(site, dep):
    return [("GET", f"sites/{site.code}/"), ("PATCH", f"sites/{site.code}/"),
            ("DELETE", f"sites/{site.code}/"), ("POST", f"sites/{site.code}/preview/"),
            ("POST", f"sites/{site.code}/refresh/"), ("POST", f"sites/{site.code}/retry/"),
            ("GET", f"sites/{site.code}/deployments/"), ("GET", f"deployments/{dep.code}/"),
            ("GET", f"deployments/{dep.code}/log/"),
            ("POST", f"deployments/{dep.code}/cancel/"),
            ("POST", f"deployments/{dep.code}/apply/")]


def test_anonymous_calls_get_401_with_the_bearer_challenge(live_server, site):
    anonymous = Api(live_server.url)
    dep = site.deployments.get()
    for method, path in [("GET", "sites/"), ("POST", "sites/"), ("GET", "vms/"),
                         ("GET", "deployments/"), *every_site_call(site, dep)]:
        status, body, headers = anonymous(method, path, {} if method != "GET" else None)
        assert status == 401, (method, path)
        assert headers["WWW-Authenticate"] == 'Bearer realm="api"'
        assert set(body) == {"detail", "errors"}


def test_expired_revoked_and_unknown_tokens_get_401(live_server, alice):
    expired = token_for(alice, "read", name="old")
    Token.objects.filter(name="old").update(expires=timezone.now() - timedelta(seconds=1))
    revoked = token_for(alice, "read", name="gone")
    Token.objects.get(name="gone").revoke()
    live = token_for(alice, "read", name="live")
    for text in (expired, revoked, live[:-2] + "xx", "hc_nope_nope", live + "x"):
        status, body, _ = Api(live_server.url, text).get("sites/")
        assert status == 401 and body["detail"] == "The token is invalid, expired or revoked."
    assert Api(live_server.url, live).get("sites/")[0] == 200
    alice.is_active = False
    alice.save()
    assert Api(live_server.url, live).get("sites/")[0] == 401  # a disabled account's


def test_a_token_records_when_and_from_where_it_was_last_used(live_server, alice):
    text = token_for(alice, "read")
    Api(live_server.url, text).get("sites/")
    token = Token.objects.get()
    assert token.last_used_from == "127.0.0.1"
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


def test_a_read_token_reads_and_changes_nothing(live_server, alice, site):
    read = Api(live_server.url, token_for(alice, "read"))
    dep = site.deployments.get()
    for method, path in every_site_call(site, dep):
        status, body, _ = read(method, path, None if method == "GET" else {})
        expected = 200 if method == "GET" else 403
        assert status == expected, (method, path, body)
    assert read.post("sites/", HTML)[1]["detail"] == \
        "This token does not have the deploy scope."
    assert read.post("vms/", {})[0] == 403
    assert site.deployments.count() == 1 and Site.objects.count() == 1


def test_a_deploy_token_changes_sites_but_not_machines(live_server, alice):
    deploy = Api(live_server.url, token_for(alice, "deploy"))
    assert deploy.post("sites/", HTML)[0] == 201
    status, body, _ = deploy.post("vms/", {"name": "box"})
    assert status == 403 and body["detail"] == "This token does not have the machines scope."


def test_a_machines_token_cannot_change_sites(live_server, alice, site):
    machines = Api(live_server.url, token_for(alice, "machines"))
    assert machines.post("sites/", HTML)[0] == 403
    assert machines("DELETE", f"sites/{site.code}/")[0] == 403
    assert machines.post(f"deployments/{site.deployments.get().code}/cancel/")[0] == 403


def test_it_validates_ownership(live_server, bob, site):
    """bob's token of every scope finds nothing of alice's: every call is a 404."""
    stranger = Api(live_server.url, token_for(bob, "read", "deploy", "machines"))
    dep = site.deployments.get()
    for method, path in every_site_call(site, dep):
        status, body, _ = stranger(method, path, None if method == "GET" else {"html": "x"})
        assert status == 404 and body == {"detail": "No Site matches the given query.",
                                          "errors": {}} or \
            status == 404 and body["detail"].startswith("No Deployment"), (method, path)
    assert stranger.get("sites/")[1]["results"] == []
    assert stranger.get("deployments/")[1]["results"] == []
    assert site.deployments.count() == 1


def test_create_records_the_site_and_its_queued_deployment(api, alice, queue):
    status, body, _ = api.post("sites/", HTML)
    assert status == 201
    site = Site.objects.get(name="home")
    assert site.owner == alice and site.content == "<p>hello</p>"
    assert body["resource"]["code"] == str(site.code)
    assert body["resource"]["status"] == "pending"
    assert body["deployment"]["action"] == "create"
    assert body["deployment"]["status"] == "queued"
    assert body["deployment"]["resource"] == {"kind": "sites", "code": str(site.code),
                                              "name": "home"}
    assert queue.count + Deployment.objects.count() >= 1


def test_errors_carry_the_forms_messages(api, site):
    status, body, _ = api.post("sites/", {"name": "Bad Name!", "source": "html",
                                          "html": " "})
    assert status == 400
    assert body["errors"]["html"] == ["Paste the HTML of your page."]
    assert body["errors"]["name"] == ["Use 1 to 63 lowercase letters, digits and hyphens, "
                                      "starting and ending with a letter or digit."]
    status, body, _ = api.post("sites/", {**HTML, "name": "mine"})
    assert status == 400 and body["errors"]["name"] == ["You already have a site named mine."]
    assert api.post("sites/", {**HTML, "source": "url", "url": "http://127.0.0.1/"})[1][
        "errors"]["url"]


def test_a_busy_stack_is_refused_with_the_services_message(api, site):
    assert api("PATCH", f"sites/{site.code}/", {"html": "<p>2</p>"})[0] == 202
    status, body, _ = api.post(f"sites/{site.code}/refresh/")
    assert status == 409
    assert body["detail"].startswith("A deployment of mine is already queued or running.")


def test_a_patch_changes_only_what_it_names_and_only_once_deployed(api, site):
    status, body, _ = api("PATCH", f"sites/{site.code}/", {"html": "<p>new</p>"})
    assert status == 202 and body["resource"]["status"] == "updating"
    site.refresh_from_db()
    assert site.content == "<p>x</p>"  # the record takes it when the update succeeds
    update = site.deployments.first()
    assert update.action == "update" and update.params["content"] == "<p>new</p>"
    assert update.params["source"] == "html"


def test_quotas_hold_through_the_api(api, site, settings):
    settings.QUOTA_SITES = 1
    status, body, _ = api.post("sites/", HTML)
    assert status == 409
    assert body["detail"] == "You have reached your limit of 1 sites; delete one first."
    assert not Site.objects.filter(name="home").exists()


def test_changes_share_the_pages_rate_limit(api, alice_client, settings):
    settings.RATE_LIMIT_CHANGES = "2/60"
    alice_client.post("/sites/new/", {"name": "a", "source": "html", "html": "<p>a</p>"})
    assert api.post("sites/", {**HTML, "name": "b"})[0] == 201
    status, body, headers = api.post("sites/", {**HTML, "name": "c"})
    assert status == 429 and headers["Retry-After"] == "60"
    assert body["detail"] == "Too many changes: at most 2 every 60 seconds. Try again shortly."
    assert api.get("sites/")[0] == 200  # reading is not a change


def test_lists_are_pages_by_cursor_newest_first(api, alice):
    for name in ("one", "two", "three"):
        Site.objects.create(owner=alice, name=name, status=Status.LIVE)
    Site.objects.create(owner=alice, name="gone", status=Status.DELETED)
    status, first, _ = api.get("sites/?limit=2")
    assert [s["name"] for s in first["results"]] == ["three", "two"]
    status, rest, _ = api.get(first["next"].split("/api/v1/", 1)[1])
    assert [s["name"] for s in rest["results"]] == ["one"] and rest["next"] is None
    assert [s["name"] for s in api.get("sites/?name=two")[1]["results"]] == ["two"]


def test_the_session_works_with_csrf_and_not_without(live_server, alice, client):
    """The browser's session authenticates too, but a change needs its CSRF token."""
    from django.conf import settings as django_settings
    client.force_login(alice)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    session = Api(live_server.url)
    headers = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}"}
    assert session("GET", "sites/", headers=headers)[0] == 200
    status, body, _ = session("POST", "sites/", HTML, headers=headers)
    assert status == 403 and "CSRF" in body["detail"]
    csrf = "a" * 32
    headers = {"Cookie": f"{headers['Cookie']}; csrftoken={csrf}", "X-CSRFToken": csrf,
               "Referer": live_server.url, "Origin": live_server.url}
    assert session("POST", "sites/", HTML, headers=headers)[0] == 201


def test_the_openapi_document_is_served_and_valid(api):
    from drf_spectacular.validation import validate_schema

    status, schema, _ = api("GET", "schema/?format=json")
    assert status == 200
    validate_schema(schema)
    paths = schema["paths"]
    for path in ("/api/v1/sites/", "/api/v1/sites/{code}/", "/api/v1/sites/{code}/preview/",
                 "/api/v1/vms/{code}/retry/", "/api/v1/deployments/{code}/log/",
                 "/api/v1/deployments/{code}/cancel/", "/api/v1/deployments/{code}/apply/"):
        assert path in paths, path
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_a_whole_page_fits_through_the_api_and_a_larger_one_gets_the_forms_message(
        api, settings):
    """The front door lets the site endpoints take a page up to SITE_MAX_BYTES, as it
    does the site forms; past it the form says how big it is."""
    page = "<p>" + "x" * (200 * 1024) + "</p>"  # past the 64 KiB of other requests
    assert api.post("sites/", {**HTML, "html": page})[0] == 201
    status, body, _ = api.post("sites/", {**HTML, "name": "big",
                                          "html": "x" * (settings.SITE_MAX_BYTES + 1)})
    assert status == 400 and body["errors"]["html"][0].startswith("The page is ")


def test_a_body_that_is_not_a_json_object_is_a_400(api, site):
    for method, path in (("POST", "sites/"), ("PATCH", f"sites/{site.code}/")):
        status, body, _ = api(method, path, ["not", "an", "object"])
        assert status == 400 and body == {"detail": "Send a JSON object.", "errors": {}}


def test_last_use_is_the_client_behind_a_trusted_proxy(live_server, alice, settings):
    """The address recorded is the one the rate limits use (herocool_project/clientaddr)."""
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    text = token_for(alice, "read")
    Api(live_server.url, text)("GET", "sites/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert Token.objects.get().last_used_from == "203.0.113.9"


def test_the_deployments_list_says_of_each_what_its_own_page_says(api, site, alice):
    """The list reads only the columns it shows (a page at a million deployments): its
    rows must equal each deployment's own answer, users, resource and times included."""
    vm_dep = Deployment.objects.create(resource=site, owner=alice, stack_name=site.stack_name,
                                       action="update", status="cancelled", requested_by=alice,
                                       cancelled_by=alice, error="stopped <by> alice",
                                       started_at=timezone.now(), finished_at=timezone.now())
    status, body, _ = api("GET", "deployments/")
    assert status == 200 and len(body["results"]) == 2
    for row in body["results"]:
        assert api("GET", f"deployments/{row['code']}/")[1] == row
    row = next(r for r in body["results"] if r["code"] == str(vm_dep.code))
    assert (row["requested_by"], row["cancelled_by"]) == ("alice", "alice")
    assert row["resource"] == {"kind": "sites", "code": str(site.code), "name": "mine"}
    assert row["error"] == "stopped <by> alice" and row["finished_at"]
