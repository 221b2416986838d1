"""Pulumi program for a static site on AWS: one S3 bucket served as a website.

Written for pulumi-aws 7 (BucketV2 and the *V2 configuration resources are
deprecated aliases there; the plain names below are current). No region is
set here: the engine puts aws:region into the stack config.
"""
import json
from pathlib import Path
from typing import Callable

import pulumi
import pulumi_aws as aws

from .content_types import content_type
from .spec import SiteSpec

INDEX_KEY = "index.html"
NOT_FOUND_KEY = "404.html"


def _tags(spec: SiteSpec) -> dict:
    # Tags let an operator trace any AWS object back to its owner and stack.
    return {"herocool:owner": spec.owner, "herocool:stack": spec.stack_name}


def _public_read_policy(bucket_arn: str) -> str:
    # Only object reads are public; listing and writes stay private.
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicReadForWebsite",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/*"],
        }],
    })


def _open_bucket(spec: SiteSpec, bucket: aws.s3.Bucket) -> list:
    """Let a bucket policy make objects public; return what the policy needs first."""
    ownership = aws.s3.BucketOwnershipControls(
        f"{spec.stack_name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerPreferred"},
    )
    # New buckets block public policies; the website needs one. ACL blocks
    # stay on because public access comes only from the bucket policy.
    access = aws.s3.BucketPublicAccessBlock(
        f"{spec.stack_name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        ignore_public_acls=True,
        block_public_policy=False,
        restrict_public_buckets=False,
    )
    return [access, ownership]


def _declare(spec: SiteSpec) -> None:
    # The stack name makes the generated bucket name readable; Pulumi adds a
    # random suffix, which keeps it globally unique.
    bucket = aws.s3.Bucket(
        spec.stack_name,
        force_destroy=True,  # a destroy must not fail over stray objects
        tags=_tags(spec),
    )
    openers = _open_bucket(spec, bucket)
    keys = [path for path, _ in spec.files]
    website = aws.s3.BucketWebsiteConfiguration(
        f"{spec.stack_name}-website",
        bucket=bucket.id,
        index_document={"suffix": INDEX_KEY},
        error_document={"key": NOT_FOUND_KEY} if NOT_FOUND_KEY in keys else None,
    )
    for key in keys:
        # One object per file, typed by the same table as the local origin's.
        aws.s3.BucketObject(
            f"{spec.stack_name}-{key}",
            bucket=bucket.id,
            key=key,
            source=pulumi.FileAsset(str(Path(spec.files_dir, *key.split("/")))),
            content_type=content_type(key),
            tags=_tags(spec),
        )
    # PutBucketPolicy is refused while the public access block still blocks
    # public policies, so the policy must wait for it.
    aws.s3.BucketPolicy(
        f"{spec.stack_name}-policy",
        bucket=bucket.id,
        policy=bucket.arn.apply(_public_read_policy),
        opts=pulumi.ResourceOptions(depends_on=openers),
    )
    pulumi.export("bucket_name", bucket.bucket)
    # S3 website endpoints speak plain HTTP only.
    pulumi.export("website_url", website.website_endpoint.apply(lambda e: f"http://{e}"))
    # Lets the caller confirm the deployed page is the one it asked for.
    pulumi.export("content_hash", spec.content_hash)


def program(spec: SiteSpec) -> Callable[[], None]:
    """Return an inline Pulumi program that publishes the files staged in spec.files_dir."""
    return lambda: _declare(spec)
