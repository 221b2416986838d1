"""Every form with hostile values: a clear error or a correct save; never a 500, never a
stored script rendered unescaped."""
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sites.models import Site
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db

HOSTILE = st.one_of(
    st.text(max_size=300),
    st.text(min_size=2000, max_size=5000),
    st.sampled_from([
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "../../etc/passwd",
        "..\\..\\windows", "'; DROP TABLE sites_site; --", "1 OR 1=1", "\x00\x01\x1b[31m",
        "\u202eevil", "ｓｃｒｉｐｔ", "🦄" * 50, "javascript:alert(1)", "%2e%2e%2f", "\r\nSet-Cookie: x=1",
        "{{ 7*7 }}", "{% debug %}", "a" * 64, "-", "", " ",
    ]),
)
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
PAGES_OF = {Site: ("sites-index", "sites-detail"), VirtualMachine: ("vms-index", "vms-detail")}


def assert_saved_safely(client, model, value):
    """Whatever was stored renders escaped on the list and detail pages."""
    for obj in model.objects.all():
        for name, args in ((PAGES_OF[model][0], []), (PAGES_OF[model][1], [obj.code])):
            page = client.get(reverse(name, args=args)).content.decode()
            assert "<script>alert(1)" not in page and "<img src=x" not in page


def check_response(response):
    assert response.status_code in (200, 302, 429), response.status_code
    if response.status_code == 200:
        assert "is-invalid" in response.content.decode() or "invalid-feedback" in (
            response.content.decode()) or "alert-danger" in response.content.decode()


@FUZZ
@given(name=HOSTILE, html=HOSTILE, url=HOSTILE, source=st.sampled_from(["html", "url", "x"]))
@example(name="0\r", html="00000", url="", source="html")  # found in a run: stripped
def test_site_create_form(alice_client, name, html, url, source, settings):
    settings.RATE_LIMIT_CHANGES = "100000/60"
    before = Site.objects.count()
    response = alice_client.post(reverse("sites-create"),
                                 {"name": name, "html": html, "url": url, "source": source})
    check_response(response)
    if response.status_code == 302:
        site = Site.objects.latest("created")
        # The form strips the name as Django's CharField does ("0\r" is saved as "0").
        assert site.name == name.strip() and Site.objects.count() == before + 1
        assert site.deployments.count() == 1
    else:
        assert Site.objects.count() == before
    assert_saved_safely(alice_client, Site, name)
    Deployment.objects.all().delete()
    Site.objects.all().delete()


@FUZZ
@given(name=HOSTILE, key=HOSTILE, cidr=HOSTILE, itype=HOSTILE)
def test_vm_create_form(alice_client, name, key, cidr, itype, settings):
    settings.RATE_LIMIT_CHANGES = "100000/60"
    response = alice_client.post(reverse("vms-create"), {
        "name": name, "ssh_public_key": key, "allowed_cidr": cidr, "instance_type": itype})
    check_response(response)
    assert response.status_code != 302  # a random key is never a valid one
    assert not VirtualMachine.objects.exists()


@FUZZ
@given(html=HOSTILE)
def test_site_update_form_escapes_what_it_stores(alice_client, alice, html, settings):
    settings.RATE_LIMIT_CHANGES = "100000/60"
    site, _ = Site.objects.get_or_create(owner=alice, name="fuzzed",
                                         defaults={"content": "x", "status": Status.LIVE})
    Deployment.objects.all().delete()
    response = alice_client.post(reverse("sites-update", args=[site.code]),
                                 {"source": "html", "html": html})
    check_response(response)
    site.refresh_from_db()
    if response.status_code == 302:
        assert site.deployments.get().params["content"] == html
        site.content = html  # as the update's job stores it when it succeeds
    site.last_error = html.replace("\x00", "")  # as an engine message could echo it
    site.status = Status.FAILED
    site.save()
    assert_saved_safely(alice_client, Site, html)


@FUZZ
@given(username=HOSTILE, password=HOSTILE)
def test_signup_and_login_forms(client, username, password, settings):
    settings.RATE_LIMIT_LOGIN = settings.RATE_LIMIT_LOGIN_ADDRESS = "100000/60"
    settings.LOGIN_BACKOFF_AFTER = 100000
    response = client.post(reverse("accounts-signup"), {
        "username": username, "password1": password, "password2": password})
    check_response(response)
    response = client.post(reverse("accounts-login"),
                           {"username": username, "password": password})
    assert response.status_code in (200, 302)
    client.logout()
