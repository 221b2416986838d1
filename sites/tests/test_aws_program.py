"""The AWS site program, run against Pulumi's unit-test mocks (no AWS, no Django)."""
import json
import warnings

import pytest

with warnings.catch_warnings():
    # pulumi_aws warns at import time about its own deprecated *V2 aliases.
    warnings.simplefilter("ignore", DeprecationWarning)
    from sites.programs import aws as aws_program
from sites.programs.spec import SiteSpec
from stacks.tests import pulumi_mocks

BUCKET = "aws:s3/bucket:Bucket"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
WEBSITE = "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration"
OBJECT = "aws:s3/bucketObject:BucketObject"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
FUNCTION = "aws:cloudfront/function:Function"
CDN = "aws:cloudfront/distribution:Distribution"
CERT = "aws:acm/certificate:Certificate"
CERT_ISSUED = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
DYNAMIC = "pulumi-python:dynamic:Resource"
STACK = "site-u3-1a2b3c4d5e6f"
BUCKET_NAME = f"{STACK}-abc1234"
CDN_ARN = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE"


class SiteMocks(pulumi_mocks.RecordingMocks):
    issued = False  # what ACM answers for a certificate's status

    def outputs(self, typ, name, inputs):
        if typ == BUCKET:
            # Real buckets get an auto-name: the logical name plus a suffix.
            bucket = f"{name}-abc1234"
            return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                            "bucketRegionalDomainName": f"{bucket}.s3.eu-west-1.amazonaws.com"}
        if typ == CDN:
            return "E2EXAMPLE", {"arn": CDN_ARN, "domainName": "d111.cloudfront.net",
                                 "hostedZoneId": "Z2FDTNDATAQYW2"}
        if typ == FUNCTION:
            return name, {"arn": f"arn:aws:cloudfront::123456789012:function/{name}"}
        if typ == CERT:
            return f"{name}-id", {"arn": "arn:aws:acm:us-east-1:1:certificate/x",
                                  "status": "ISSUED" if self.issued
                                  else "PENDING_VALIDATION",
                                  "domainValidationOptions": [{
                                      "domainName": inputs["domainName"],
                                      "resourceRecordName": f"_abc.{inputs['domainName']}.",
                                      "resourceRecordType": "CNAME",
                                      "resourceRecordValue": "_xyz.acm-validations.aws."}]}
        if typ == RECORD:
            return f"{name}-id", {"fqdn": inputs["name"]}
        return f"{name}-id", {}


@pytest.fixture
def mocks():
    return pulumi_mocks.install(SiteMocks())


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """A release's files as the job stages them."""
    folder = tmp_path_factory.mktemp("staged")
    (folder / "css").mkdir()
    (folder / "index.html").write_text("<h1>Hello</h1>")
    (folder / "css" / "site.css").write_text("h1 {}")
    (folder / "404.html").write_text("<h1>Lost</h1>")
    return folder


@pytest.fixture
def spec(staged):
    return SiteSpec(stack_name=STACK, owner="alice", files_dir=str(staged),
                    content_hash="c0ffee", files=(("404.html", 13), ("css/site.css", 5),
                                                  ("index.html", 14)))


def deploy(spec):
    return pulumi_mocks.deploy(aws_program.program(spec))


def urn_of(mocks, typ):
    [name] = [n for t, n, _ in mocks.resources if t == typ]
    return mocks.monitor.urns[name]


def test_the_bucket_is_private_with_no_website_endpoint(mocks, spec):
    deploy(spec)
    block = mocks.only(ACCESS_BLOCK)
    assert all(block[k] is True for k in ("blockPublicAcls", "ignorePublicAcls",
                                          "blockPublicPolicy", "restrictPublicBuckets"))
    assert mocks.only(OWNERSHIP)["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert mocks.all_of(WEBSITE) == []


def test_only_the_distribution_may_read_the_bucket(mocks, spec):
    deploy(spec)
    policy = json.loads(mocks.only(POLICY)["policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == [f"arn:aws:s3:::{BUCKET_NAME}/*"]
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": CDN_ARN}}
    assert "*" not in json.dumps(statement["Principal"])
    [policy_name] = [n for t, n, _ in mocks.resources if t == POLICY]
    assert urn_of(mocks, ACCESS_BLOCK) in mocks.monitor.dependencies[policy_name]


def test_the_distribution_reads_through_origin_access_control_over_https(mocks, spec):
    deploy(spec)
    oac = mocks.only(OAC)
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"],
            oac["signingProtocol"]) == ("s3", "always", "sigv4")
    cdn = mocks.only(CDN)
    [origin] = cdn["origins"]
    assert origin["domainName"] == f"{BUCKET_NAME}.s3.eu-west-1.amazonaws.com"
    assert origin["originAccessControlId"] == f"{STACK}-oac-id"
    behavior = cdn["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["allowedMethods"] == ["GET", "HEAD"] and behavior["compress"] is True
    assert cdn["defaultRootObject"] == "index.html"
    assert cdn["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}


def test_folders_get_their_index_and_misses_the_sites_404(mocks, spec):
    deploy(spec)
    function = mocks.only(FUNCTION)
    assert "index.html" in function["code"] and function["runtime"] == "cloudfront-js-2.0"
    behavior = mocks.only(CDN)["defaultCacheBehavior"]
    assert behavior["functionAssociations"] == [{
        "eventType": "viewer-request",
        "functionArn": f"arn:aws:cloudfront::123456789012:function/{STACK}-index"}]
    errors = mocks.only(CDN)["customErrorResponses"]
    assert {(e["errorCode"], e["responseCode"], e["responsePagePath"]) for e in errors} == {
        (403, 404, "/404.html"), (404, 404, "/404.html")}


def test_each_file_is_an_object_with_the_local_origins_type(mocks, spec, staged):
    deploy(spec)
    objects = {o["key"]: o for o in mocks.all_of(OBJECT)}
    assert sorted(objects) == ["404.html", "css/site.css", "index.html"]
    assert objects["css/site.css"]["contentType"] == "text/css; charset=utf-8"
    assert objects["index.html"]["contentType"] == "text/html; charset=utf-8"
    assert objects["css/site.css"]["source"].path == str(staged / "css" / "site.css")
    assert all(o["bucket"] == BUCKET_NAME for o in objects.values())


def test_a_release_invalidates_its_changed_paths_after_uploading(mocks, spec):
    from dataclasses import replace

    deploy(replace(spec, changed=("css/site.css", "docs/index.html")))
    [invalidation] = [(n, i) for t, n, i in mocks.resources if t == DYNAMIC]
    name, inputs = invalidation
    assert inputs["paths"] == ["/css/site.css", "/docs/index.html", "/docs/"]
    assert inputs["distribution_id"] == "E2EXAMPLE" and inputs["release"] == "c0ffee"
    waits_for = mocks.monitor.dependencies[name]
    assert all(mocks.monitor.urns[n] in waits_for for t, n, _ in mocks.resources
               if t == OBJECT)


def test_a_first_release_invalidates_nothing_and_many_changes_one_wildcard(mocks, spec):
    deploy(spec)
    assert [t for t, _, _ in mocks.resources if t == DYNAMIC] == []
    assert aws_program.invalidation_paths([f"p{i}.html" for i in range(40)]) == ["/*"]


def test_exports_an_https_url_and_the_release(mocks, spec):
    exports = deploy(spec)
    assert exports["website_url"] == "https://d111.cloudfront.net/"
    assert exports["content_hash"] == "c0ffee"
    assert exports["bucket_name"] == BUCKET_NAME
    assert exports["distribution_id"] == "E2EXAMPLE"


def test_a_domain_with_a_hosted_zone_gets_a_validated_us_east_1_certificate(mocks, spec):
    from dataclasses import replace

    exports = deploy(replace(spec, domain="www.example.org", hosted_zone_id="Z123"))
    cert = mocks.only(CERT)
    assert (cert["domainName"], cert["validationMethod"]) == ("www.example.org", "DNS")
    [cert_name] = [n for t, n, _ in mocks.resources if t == CERT]
    [record] = [r for r in mocks.all_of(RECORD) if r["type"] == "CNAME"]
    assert (record["zoneId"], record["name"], record["type"]) == (
        "Z123", "_abc.www.example.org.", "CNAME")
    aliases = sorted((r["type"], r["name"], r["aliases"][0]["name"])
                     for r in mocks.all_of(RECORD) if r["type"] != "CNAME")
    assert aliases == [("A", "www.example.org", "d111.cloudfront.net"),
                       ("AAAA", "www.example.org", "d111.cloudfront.net")]
    assert mocks.only(CERT_ISSUED)["validationRecordFqdns"] == ["_abc.www.example.org."]
    cdn = mocks.only(CDN)
    assert cdn["aliases"] == ["www.example.org"]
    assert cdn["viewerCertificate"]["sslSupportMethod"] == "sni-only"
    assert exports["website_url"] == "https://www.example.org/"
    assert exports["certificate_validation"]["value"] == "_xyz.acm-validations.aws."
    providers = [i for t, n, i in mocks.resources if t == "pulumi:providers:aws"]
    assert [p.get("region") for p in providers] == ["us-east-1"], cert_name


def test_a_domain_without_a_zone_shows_its_record_and_waits(mocks, spec):
    from dataclasses import replace

    exports = deploy(replace(spec, domain="www.example.org"))
    assert mocks.all_of(RECORD) == [] and mocks.all_of(CERT_ISSUED) == []
    assert "aliases" not in mocks.only(CDN) or not mocks.only(CDN)["aliases"]
    assert exports["certificate_validation"] == {
        "name": "_abc.www.example.org.", "type": "CNAME",
        "value": "_xyz.acm-validations.aws."}
    assert exports["certificate_status"] == "PENDING_VALIDATION"
    assert exports["certificate_domain"] == "www.example.org"
    assert exports["custom_domain_served"] is False
    assert exports["cdn_domain"] == "d111.cloudfront.net"  # where the user's CNAME points
    assert exports["website_url"] == "https://d111.cloudfront.net/"
    assert mocks.only(CDN)["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}


def test_once_issued_the_domain_is_attached_without_any_route53_record(mocks, spec):
    from dataclasses import replace

    exports = deploy(replace(spec, domain="www.example.org", certificate_issued=True))
    assert mocks.all_of(RECORD) == [] and mocks.all_of(CERT_ISSUED) == []
    cdn = mocks.only(CDN)
    assert cdn["aliases"] == ["www.example.org"]
    assert cdn["viewerCertificate"]["acmCertificateArn"] == \
        "arn:aws:acm:us-east-1:1:certificate/x"
    assert cdn["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert exports["custom_domain_served"] is True
    assert exports["website_url"] == "https://www.example.org/"


def test_bucket_tagged_with_owner_and_stack(mocks, spec):
    deploy(spec)
    tags = mocks.only(BUCKET)["tags"]
    assert tags["herocool:owner"] == "alice"
    assert tags["herocool:stack"] == STACK


def test_no_region_is_hard_coded_but_the_certificates(mocks, spec):
    deploy(spec)
    assert all("region" not in inputs for _, _, inputs in mocks.resources)
