"""A Pulumi dynamic resource: a CloudFront invalidation of a release's changed paths.

pulumi-aws has no invalidation resource (CloudFront invalidations are one-off calls), so
this one makes the call with boto3 (imported only when it runs, in the engine's provider
process, with the worker's AWS credentials: profile, keys or instance role). A new
release (a new `release` hash) makes a new invalidation; deleting it undoes nothing.
The caller reference is the release hash, so a retried call is not a second one.
Importable with no Django: the provider process unpickles this class by reference.
"""
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider
from pulumi.dynamic import UpdateResult


def _invalidate(props):
    import boto3  # only where it runs: the program itself and its tests need no AWS SDK

    client = boto3.client("cloudfront")
    answer = client.create_invalidation(
        DistributionId=props["distribution_id"],
        InvalidationBatch={
            "Paths": {"Quantity": len(props["paths"]), "Items": list(props["paths"])},
            "CallerReference": f"herocool-{props['release']}",
        },
    )
    return answer["Invalidation"]["Id"]


class InvalidationProvider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_=_invalidate(props), outs=dict(props))

    def diff(self, _id, olds, news):
        changed = olds.get("release") != news.get("release") or \
            olds.get("distribution_id") != news.get("distribution_id")
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def update(self, _id, _olds, news):
        _invalidate(news)
        return UpdateResult(outs=dict(news))

    def delete(self, _id, _props):
        """An invalidation cannot be undone, nor need it be."""


class Invalidation(Resource):
    def __init__(self, name, *, distribution_id, paths, release, opts=None):
        super().__init__(InvalidationProvider(), name,
                         {"distribution_id": distribution_id, "paths": paths,
                          "release": release}, opts)
