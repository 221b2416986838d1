"""An aws site's own domain: taken on the form (never one of the platform's names), passed
to the program by Site.spec(), and its DNS records shown on the page from the outputs the
program exports (run under Pulumi's mocks: no AWS) until the domain is served."""
import warnings

import pytest
from django.urls import reverse

from sites.models import Site

from .test_aws_program import SiteMocks

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from stacks.tests import pulumi_mocks

pytestmark = pytest.mark.django_db


@pytest.fixture
def aws_site(alice):
    return Site.objects.create(owner=alice, name="s", status="live", target="aws",
                               content="<p>hi</p>", custom_domain="www.alice.example")


def synced(site, mocks):
    """Run the site's program under the mocks and keep its exports, as a deployment's
    job stores the stack outputs."""
    site.outputs = pulumi_mocks.deploy(site.program())
    site.save(update_fields=["outputs"])
    return site.outputs


def test_the_page_shows_the_records_to_add_until_the_domain_is_served(alice_client,
                                                                      aws_site):
    mocks = pulumi_mocks.install(SiteMocks())
    page = alice_client.get(aws_site.get_absolute_url()).content.decode()
    assert "appear here once the site" in page  # nothing deployed yet

    outputs = synced(aws_site, mocks)
    assert not mocks.all_of("aws:cloudfront/distribution:Distribution")[0].get("aliases")
    page = alice_client.get(aws_site.get_absolute_url()).content.decode()
    assert 'id="certificate-record"' in page
    assert "_abc.www.alice.example." in page and "_xyz.acm-validations.aws." in page
    assert "d111.cloudfront.net" in page  # where the domain's CNAME points

    # A drift check reads the certificate back: ACM issued it.
    aws_site.outputs = {**outputs, "certificate_status": "ISSUED"}
    aws_site.save(update_fields=["outputs"])
    page = alice_client.get(aws_site.get_absolute_url()).content.decode()
    assert 'id="certificate-issued"' in page and 'id="certificate-record"' not in page

    mocks = pulumi_mocks.install(SiteMocks())
    mocks.issued = True
    outputs = synced(aws_site, mocks)
    assert mocks.only("aws:cloudfront/distribution:Distribution")["aliases"] == [
        "www.alice.example"]
    assert outputs["website_url"] == "https://www.alice.example/"
    page = alice_client.get(aws_site.get_absolute_url()).content.decode()
    assert 'id="aws-domain"' not in page


def test_the_spec_carries_the_domain_the_operators_zone_and_issuance(aws_site, settings):
    settings.SITES_AWS_HOSTED_ZONE_ID = "Z123"
    spec = aws_site.spec()
    assert (spec.domain, spec.hosted_zone_id, spec.certificate_issued) == (
        "www.alice.example", "Z123", False)
    aws_site.outputs = {"certificate_status": "ISSUED", "certificate_domain":
                        "www.alice.example", "certificate_validation": {"name": "x"}}
    assert aws_site.spec().certificate_issued
    aws_site.custom_domain = "shop.alice.example"  # another domain: a new certificate
    assert not aws_site.spec().certificate_issued
    aws_site.target = "local"
    assert aws_site.spec().domain == ""


def test_the_aws_form_takes_a_domain_but_never_the_platforms_own(alice_client, settings):
    settings.HEROCOOL_TARGET = "aws"
    settings.SITES_URL_TEMPLATE = "https://{host}.usersites.example.net/"
    data = {"name": "mine", "source": "html", "html": "<p>hi</p>"}
    for name in ("x.usersites.example.net", "localhost", "not a domain"):
        response = alice_client.post(reverse("sites-create"), {**data, "domain": name})
        assert response.status_code == 200 and "domain" in response.context["form"].errors
    assert not Site.objects.exists()
    response = alice_client.post(reverse("sites-create"),
                                 {**data, "domain": "WWW.Alice.Example"})
    assert response.status_code == 302
    site = Site.objects.get(name="mine")
    assert site.custom_domain == "www.alice.example"
    assert site.deployments.get().action == "create"


def test_two_sites_never_share_an_aws_domain(alice_client, bob, settings):
    settings.HEROCOOL_TARGET = "aws"
    Site.objects.create(owner=bob, name="b", status="live", target="aws",
                        custom_domain="www.shared.example")
    response = alice_client.post(reverse("sites-create"), {
        "name": "mine", "source": "html", "html": "<p>hi</p>",
        "domain": "www.shared.example"})
    assert "already in use" in response.context["form"].errors["domain"][0]


def test_a_local_sites_form_has_no_aws_domain_field(alice_client, settings):
    settings.HEROCOOL_TARGET = "local"
    page = alice_client.get(reverse("sites-create")).content.decode()
    assert 'name="domain"' not in page


def test_the_api_takes_the_aws_domain_with_the_forms_rules(live_server, alice, settings):
    from stacks.tests.apiclient import Api, token_for

    settings.HEROCOOL_TARGET = "aws"
    api = Api(live_server.url, token_for(alice, "read", "deploy"))
    page = {"source": "html", "html": "<p>hi</p>"}
    status, body, _ = api.post("sites/", {"name": "bad", **page, "domain": "localhost"})
    assert status == 400 and "platform's own" in str(body)
    status, body, _ = api.post("sites/", {"name": "good", **page,
                                          "domain": "www.alice.example"})
    assert status in (200, 201, 202), body
    assert body["resource"]["custom_domain"] == "www.alice.example"
