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


class SiteMocks(pulumi_mocks.RecordingMocks):
    def outputs(self, typ, name, inputs):
        if typ == BUCKET:
            # Real buckets get an auto-name: the logical name plus a suffix.
            bucket = f"{name}-abc1234"
            return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        if typ == WEBSITE:
            return f"{name}-id", {
                "websiteEndpoint": f"{inputs['bucket']}.s3-website.eu-west-1.amazonaws.com"}
        return f"{name}-id", {}


@pytest.fixture
def mocks():
    return pulumi_mocks.install(SiteMocks())


def deploy(spec):
    return pulumi_mocks.deploy(aws_program.program(spec))


def only(mocks, typ):
    return mocks.only(typ)


def urn_of(mocks, typ):
    [name] = [n for t, n, _ in mocks.resources if t == typ]
    return mocks.monitor.urns[name]


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """A release's files as the job stages them."""
    folder = tmp_path_factory.mktemp("staged")
    (folder / "css").mkdir()
    (folder / "index.html").write_text("<h1>Hello</h1>")
    (folder / "css" / "site.css").write_text("h1 {}")
    (folder / "404.html").write_text("<h1>Lost</h1>")
    return folder


SPEC = SiteSpec(stack_name="site-u3-1a2b3c4d5e6f", owner="alice", files_dir="/nowhere",
                content_hash="c0ffee", files=(("index.html", 14),))
BUCKET_NAME = "site-u3-1a2b3c4d5e6f-abc1234"


def test_declares_every_website_resource(mocks):
    deploy(SPEC)
    declared = [t for t, _, _ in mocks.resources]
    for typ in (BUCKET, OWNERSHIP, ACCESS_BLOCK, WEBSITE, OBJECT, POLICY):
        assert declared.count(typ) == 1, typ
    # Everything hangs off the one bucket.
    for typ in (OWNERSHIP, ACCESS_BLOCK, WEBSITE, OBJECT, POLICY):
        assert only(mocks, typ)["bucket"] == BUCKET_NAME, typ


def test_each_staged_file_is_an_object_with_its_type(mocks, staged):
    spec = SiteSpec(stack_name="site-u9-ffff", owner="bob", files_dir=str(staged),
                    content_hash="c0ffee", files=(("404.html", 13), ("css/site.css", 5),
                                                  ("index.html", 14)))
    deploy(spec)
    objects = {o["key"]: o for o in mocks.all_of(OBJECT)}
    assert sorted(objects) == ["404.html", "css/site.css", "index.html"]
    assert objects["css/site.css"]["contentType"] == "text/css; charset=utf-8"
    assert objects["index.html"]["contentType"] == "text/html; charset=utf-8"
    assert objects["css/site.css"]["source"].path == str(staged / "css" / "site.css")
    assert only(mocks, WEBSITE)["errorDocument"] == {"key": "404.html"}


def test_website_serves_index_html(mocks):
    deploy(SPEC)
    assert only(mocks, WEBSITE)["indexDocument"] == {"suffix": "index.html"}
    assert only(mocks, OWNERSHIP)["rule"] == {"objectOwnership": "BucketOwnerPreferred"}


def test_public_access_block_lets_a_public_policy_through(mocks):
    deploy(SPEC)
    block = only(mocks, ACCESS_BLOCK)
    assert block["blockPublicPolicy"] is False
    assert block["restrictPublicBuckets"] is False


def test_bucket_policy_allows_public_get_object_only(mocks):
    deploy(SPEC)
    policy = json.loads(only(mocks, POLICY)["policy"])
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == "*"
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Resource"] == [f"arn:aws:s3:::{BUCKET_NAME}/*"]


def test_bucket_policy_waits_for_access_block_and_ownership(mocks):
    deploy(SPEC)
    [policy_name] = [n for t, n, _ in mocks.resources if t == POLICY]
    waits_for = mocks.monitor.dependencies[policy_name]
    assert urn_of(mocks, ACCESS_BLOCK) in waits_for
    assert urn_of(mocks, OWNERSHIP) in waits_for


def test_exports_url_from_endpoint_hash_and_bucket(mocks):
    exports = deploy(SPEC)
    assert exports["website_url"] == f"http://{BUCKET_NAME}.s3-website.eu-west-1.amazonaws.com"
    assert exports["content_hash"] == SPEC.content_hash
    assert exports["bucket_name"] == BUCKET_NAME


def test_bucket_tagged_with_owner_and_stack(mocks):
    deploy(SPEC)
    tags = only(mocks, BUCKET)["tags"]
    assert tags["herocool:owner"] == "alice"
    assert tags["herocool:stack"] == SPEC.stack_name


def test_no_region_is_hard_coded(mocks):
    deploy(SPEC)
    assert all("region" not in inputs for _, _, inputs in mocks.resources)
