"""A dynamic resource that needs no cloud account and no host: it remembers which host
created it and which last updated it (HEROCOOL_HOST of the worker whose engine ran the
provider). The two-host test deploys aws-target sites with it (stacks/tests/host_worker.py),
so one stack can be created on one host and changed on another."""
import os

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult


def _here():
    return os.environ.get("HEROCOOL_HOST", "")


class EchoProvider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="echo", outs={**props, "made_by": _here(), "updated_by": ""})

    def diff(self, _id, olds, news):
        return DiffResult(changes=olds.get("page") != news.get("page"))

    def update(self, _id, olds, news):
        return UpdateResult(outs={**news, "made_by": olds.get("made_by", ""),
                                  "updated_by": _here()})

    def delete(self, _id, _props):
        pass


class Echo(Resource):
    made_by: pulumi.Output
    updated_by: pulumi.Output

    def __init__(self, name, *, page, opts=None):
        super().__init__(EchoProvider(), name,
                         {"page": page, "made_by": None, "updated_by": None}, opts)


def program(spec):
    """In place of sites.programs.aws.program: same spec, same output names."""
    def declare():
        echo = Echo("site", page=spec.index_html)
        pulumi.export("website_url", "https://echo.invalid/")
        pulumi.export("made_by", echo.made_by)
        pulumi.export("updated_by", echo.updated_by)

    return declare
