"""The AWS site program, run against Pulumi's unit-test mocks (no AWS, no Django)."""
import json
import warnings

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import set_root_resource

with warnings.catch_warnings():
    # pulumi_aws warns at import time about its own deprecated *V2 aliases.
    warnings.simplefilter("ignore", DeprecationWarning)
    from sites.programs import aws as aws_program
from sites.programs.spec import SiteSpec

BUCKET = "aws:s3/bucket:Bucket"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
WEBSITE = "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration"
OBJECT = "aws:s3/bucketObject:BucketObject"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource and invoke; answers with plausible provider outputs."""

    def __init__(self):
        self.resources = []  # (type, name, inputs) in registration order
        self.calls = []  # (token, args)

    def new_resource(self, args):
        self.resources.append((args.typ, args.name, args.inputs))
        state = dict(args.inputs)
        if args.typ == BUCKET:
            # Real buckets get an auto-name: the logical name plus a suffix.
            name = f"{args.name}-abc1234"
            state.update(bucket=name, arn=f"arn:aws:s3:::{name}")
            return name, state
        if args.typ == WEBSITE:
            state["websiteEndpoint"] = f"{args.inputs['bucket']}.s3-website.eu-west-1.amazonaws.com"
        return f"{args.name}-id", state

    def call(self, args):
        self.calls.append((args.token, args.args))
        return {}


class DependencyMonitor(MockMonitor):
    """The stock mock monitor, also keeping each resource's dependency URNs."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.urns = {}  # resource name -> its URN
        self.dependencies = {}  # resource name -> URNs it waits for

    def RegisterResource(self, request):
        self.dependencies[request.name] = set(request.dependencies)
        response = super().RegisterResource(request)
        self.urns[request.name] = response.urn
        return response


@pytest.fixture
def mocks():
    # Mocks and the root stack are process-global: start each test afresh so
    # no resources or exports leak between tests.
    set_root_resource(None)
    recorder = RecordingMocks()
    recorder.monitor = DependencyMonitor(recorder)
    pulumi.runtime.set_mocks(recorder, preview=False, monitor=recorder.monitor)
    return recorder


def deploy(spec):
    """Run the program under the mocks; return the resolved stack exports."""
    exports = {}

    @pulumi.runtime.test
    def run():
        aws_program.program(spec)()
        declared = pulumi.runtime.get_root_resource().outputs
        return pulumi.Output.all(**declared).apply(exports.update)

    run()  # returns only once every registration RPC has finished
    return exports


def only(mocks, typ):
    """The inputs of the single resource of type typ."""
    found = [inputs for t, _, inputs in mocks.resources if t == typ]
    assert len(found) == 1, f"expected one {typ}, got {len(found)}"
    return found[0]


def urn_of(mocks, typ):
    [name] = [n for t, n, _ in mocks.resources if t == typ]
    return mocks.monitor.urns[name]


SPEC = SiteSpec(stack_name="site-u3-1a2b3c4d5e6f", owner="alice", index_html="<h1>Hello</h1>")
BUCKET_NAME = "site-u3-1a2b3c4d5e6f-abc1234"


def test_declares_every_website_resource(mocks):
    deploy(SPEC)
    declared = [t for t, _, _ in mocks.resources]
    for typ in (BUCKET, OWNERSHIP, ACCESS_BLOCK, WEBSITE, OBJECT, POLICY):
        assert declared.count(typ) == 1, typ
    # Everything hangs off the one bucket.
    for typ in (OWNERSHIP, ACCESS_BLOCK, WEBSITE, OBJECT, POLICY):
        assert only(mocks, typ)["bucket"] == BUCKET_NAME, typ


def test_index_object_carries_spec_content(mocks):
    spec = SiteSpec(stack_name="site-u9-ffff", owner="bob",
                    index_html="<p>é ünïcode</p>", content_type="text/html; charset=latin-1")
    deploy(spec)
    index = only(mocks, OBJECT)
    assert index["key"] == "index.html"
    assert index["content"] == spec.index_html
    assert index["contentType"] == spec.content_type


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
