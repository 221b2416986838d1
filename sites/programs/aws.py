"""Pulumi program for a static site on AWS: a private S3 bucket behind CloudFront.

The bucket blocks all public access; only the site's own distribution may read it (origin
access control, SigV4, and a bucket policy conditioned on the distribution's ARN).
Visitors get HTTPS (plain HTTP is redirected), compressed text, `index.html` for folders
(a viewer-request function), and the site's 404.html when it has one. Each file is an
object with the same Content-Type as the local origin sends; a release's changed paths
are invalidated (sites/programs/invalidation.py). An optional custom domain gets an ACM
certificate in us-east-1 (CloudFront's region): validated through Route 53 when the
operator gives a hosted zone, else by the DNS record the site page shows the user.

Written for pulumi-aws 7. No region is set here for the bucket: the engine puts
aws:region into the stack config.
"""
import json
from pathlib import Path
from typing import Callable

import pulumi
import pulumi_aws as aws

from .content_types import content_type
from .invalidation import Invalidation
from .spec import SiteSpec

INDEX_KEY = "index.html"
NOT_FOUND_KEY = "404.html"
ORIGIN_ID = "site-bucket"
# AWS's managed "CachingOptimized" cache policy: gzip and brotli, no cookies or queries.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# CloudFront serves "/" by default_root_object only; sub-folders need this rewrite.
FOLDER_INDEX_JS = """function handler(event) {
  var request = event.request;
  if (request.uri.endsWith('/')) { request.uri += 'index.html'; }
  return request;
}"""
# Past this many changed paths, one wildcard invalidation is cheaper and as quick.
MAX_INVALIDATION_PATHS = 15


def _tags(spec: SiteSpec) -> dict:
    # Tags let an operator trace any AWS object back to its owner and stack.
    return {"herocool:owner": spec.owner, "herocool:stack": spec.stack_name}


def _private_bucket(spec: SiteSpec):
    """The bucket, with every kind of public access blocked and ACLs disabled."""
    bucket = aws.s3.Bucket(spec.stack_name, force_destroy=True, tags=_tags(spec))
    aws.s3.BucketOwnershipControls(f"{spec.stack_name}-ownership", bucket=bucket.id,
                                   rule={"object_ownership": "BucketOwnerEnforced"})
    block = aws.s3.BucketPublicAccessBlock(
        f"{spec.stack_name}-public-access", bucket=bucket.id, block_public_acls=True,
        ignore_public_acls=True, block_public_policy=True, restrict_public_buckets=True)
    return bucket, block


def _objects(spec: SiteSpec, bucket) -> list:
    if spec.page_only:  # a page given as text
        return [aws.s3.BucketObject(f"{spec.stack_name}-{INDEX_KEY}", bucket=bucket.id,
                                    key=INDEX_KEY, content=spec.index_html,
                                    content_type=spec.content_type, tags=_tags(spec))]
    return [aws.s3.BucketObject(
        f"{spec.stack_name}-{key}",
        bucket=bucket.id,
        key=key,
        source=pulumi.FileAsset(str(Path(spec.files_dir, *key.split("/")))),
        content_type=content_type(key),
        tags=_tags(spec),
    ) for key, _ in spec.files]


def distribution_read_policy(bucket_arn: str, distribution_arn: str) -> str:
    """Only this distribution, through CloudFront's service principal, may read."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CloudFrontReadsThroughOriginAccessControl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/*"],
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        }],
    })


def _certificate(spec: SiteSpec):
    """(viewer_certificate, aliases) for the distribution; exports what the user needs."""
    if not spec.domain:
        return {"cloudfront_default_certificate": True}, None
    us_east_1 = aws.Provider(f"{spec.stack_name}-us-east-1", region="us-east-1")
    on_us_east_1 = pulumi.ResourceOptions(provider=us_east_1)
    cert = aws.acm.Certificate(f"{spec.stack_name}-cert", domain_name=spec.domain,
                               validation_method="DNS", tags=_tags(spec), opts=on_us_east_1)
    record = cert.domain_validation_options.apply(lambda options: options[0])
    pulumi.export("certificate_validation", record.apply(lambda o: {
        "name": o["resource_record_name"], "type": o["resource_record_type"],
        "value": o["resource_record_value"]}))
    # Read back after each deployment (and drift check): the site page shows the record
    # until ACM says ISSUED; then the next deployment attaches the domain.
    pulumi.export("certificate_status", cert.status)
    pulumi.export("certificate_domain", spec.domain)
    served = bool(spec.hosted_zone_id or spec.certificate_issued)
    pulumi.export("custom_domain_served", served)
    if not spec.hosted_zone_id:
        # Until the user adds the record and ACM issues it, the distribution keeps its
        # own name; a later deployment attaches the domain (spec.certificate_issued).
        if not served:
            return {"cloudfront_default_certificate": True}, None
        arn = cert.arn
    else:
        validation = aws.route53.Record(
            f"{spec.stack_name}-cert-validation", zone_id=spec.hosted_zone_id,
            name=record.apply(lambda o: o["resource_record_name"]),
            type=record.apply(lambda o: o["resource_record_type"]),
            records=[record.apply(lambda o: o["resource_record_value"])], ttl=300,
            allow_overwrite=True)
        arn = aws.acm.CertificateValidation(
            f"{spec.stack_name}-cert-issued", certificate_arn=cert.arn,
            validation_record_fqdns=[validation.fqdn], opts=on_us_east_1).certificate_arn
    return {"acm_certificate_arn": arn, "ssl_support_method": "sni-only",
            "minimum_protocol_version": "TLSv1.2_2021"}, [spec.domain]


def _distribution(spec: SiteSpec, bucket):
    keys = {key for key, _ in spec.files} or {INDEX_KEY}
    oac = aws.cloudfront.OriginAccessControl(
        f"{spec.stack_name}-oac", origin_access_control_origin_type="s3",
        signing_behavior="always", signing_protocol="sigv4")
    folder_index = aws.cloudfront.Function(
        f"{spec.stack_name}-index", runtime="cloudfront-js-2.0", code=FOLDER_INDEX_JS,
        publish=True, comment="index.html for folders")
    viewer_certificate, aliases = _certificate(spec)
    # S3 answers 403 for a missing key when the reader may not list the bucket.
    errors = [{"error_code": code, "response_code": 404, "response_page_path":
               f"/{NOT_FOUND_KEY}"} for code in (403, 404)] if NOT_FOUND_KEY in keys else []
    return aws.cloudfront.Distribution(
        f"{spec.stack_name}-cdn",
        enabled=True,
        is_ipv6_enabled=True,
        http_version="http2and3",
        price_class="PriceClass_100",
        default_root_object=INDEX_KEY,
        aliases=aliases,
        origins=[{"domain_name": bucket.bucket_regional_domain_name,
                  "origin_id": ORIGIN_ID, "origin_access_control_id": oac.id}],
        default_cache_behavior={
            "target_origin_id": ORIGIN_ID,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            "cache_policy_id": CACHING_OPTIMIZED,
            "function_associations": [{"event_type": "viewer-request",
                                       "function_arn": folder_index.arn}],
        },
        custom_error_responses=errors,
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate=viewer_certificate,
        tags=_tags(spec),
    )


def _alias_records(spec: SiteSpec, cdn):
    """The domain's A and AAAA alias records to the distribution, in the operator's zone
    (without one, the user points the domain at cdn_domain themselves)."""
    for kind in ("A", "AAAA"):
        aws.route53.Record(
            f"{spec.stack_name}-alias-{kind.lower()}", zone_id=spec.hosted_zone_id,
            name=spec.domain, type=kind, allow_overwrite=True,
            aliases=[{"name": cdn.domain_name, "zone_id": cdn.hosted_zone_id,
                      "evaluate_target_health": False}])


def invalidation_paths(changed) -> list:
    """The viewer paths a release's changed files are cached under (a folder's
    index.html under the folder's path too); one wildcard when there are many."""
    paths = []
    for key in sorted(changed):
        paths.append("/" + key)
        if key == INDEX_KEY or key.endswith("/" + INDEX_KEY):
            paths.append("/" + key[:-len(INDEX_KEY)])
    return ["/*"] if len(paths) > MAX_INVALIDATION_PATHS else paths


def _declare(spec: SiteSpec) -> None:
    bucket, block = _private_bucket(spec)
    objects = _objects(spec, bucket)
    cdn = _distribution(spec, bucket)
    aws.s3.BucketPolicy(
        f"{spec.stack_name}-policy",
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, cdn.arn).apply(
            lambda arns: distribution_read_policy(*arns)),
        opts=pulumi.ResourceOptions(depends_on=[block]),
    )
    if spec.changed:
        Invalidation(f"{spec.stack_name}-invalidation", distribution_id=cdn.id,
                     paths=invalidation_paths(spec.changed), release=spec.content_hash,
                     opts=pulumi.ResourceOptions(depends_on=objects))
    pulumi.export("bucket_name", bucket.bucket)
    pulumi.export("distribution_id", cdn.id)
    host = spec.domain if spec.domain and (spec.hosted_zone_id or spec.certificate_issued) \
        else None
    pulumi.export("website_url", cdn.domain_name.apply(
        lambda name: f"https://{host or name}/"))
    pulumi.export("cdn_domain", cdn.domain_name)  # where the user's CNAME points
    if spec.domain and spec.hosted_zone_id:
        _alias_records(spec, cdn)
    # Lets the caller confirm the deployed release is the one it asked for.
    pulumi.export("content_hash", spec.content_hash)


def program(spec: SiteSpec) -> Callable[[], None]:
    """Return an inline Pulumi program that publishes the files staged in spec.files_dir."""
    return lambda: _declare(spec)
