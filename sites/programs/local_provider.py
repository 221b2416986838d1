"""A Pulumi dynamic provider that publishes a site's files under the sites root.

Importable with no Django: the engine's provider process unpickles this class by
reference (dill), so it must live in a module of its own on PYTHONPATH.
"""
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider
from pulumi.dynamic import UpdateResult


def _site_dir(props):
    return Path(props["sites_root"]) / props["host"]


def _publish(props):
    """Write index.html atomically: the origin never serves a half-written page."""
    site_dir = _site_dir(props)
    site_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=site_dir, prefix=".index-")
    with os.fdopen(fd, "wb") as f:
        f.write(props["index_html"].encode())
    # mkstemp made it 0600, which is right: the origin runs as the same account.
    os.replace(tmp, site_dir / "index.html")
    return _outs(props, hashlib.sha256(props["index_html"].encode()).hexdigest())


def _outs(props, content_hash):
    return {
        **props,
        "website_url": props["url_template"].format(host=props["host"]),
        "content_hash": content_hash,
    }


class LocalSiteProvider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_=props["host"], outs=_publish(props))

    def diff(self, _id, olds, news):
        watched = ("index_html", "url_template")
        changes = [k for k in watched if olds.get(k) != news.get(k)]
        moved = [k for k in ("sites_root", "host") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changes or moved), replaces=moved,
                          delete_before_replace=True)

    def update(self, _id, _olds, news):
        return UpdateResult(outs=_publish(news))

    def delete(self, _id, props):
        shutil.rmtree(_site_dir(props), ignore_errors=True)

    def read(self, id_, props):
        """What is really published: a missing or edited file shows up as drift."""
        index = _site_dir(props) / "index.html"
        if not index.exists():
            return ReadResult(id_=None, outs={})
        content = index.read_bytes()
        outs = _outs({**props, "index_html": content.decode(errors="replace")},
                     hashlib.sha256(content).hexdigest())
        return ReadResult(id_=id_, outs=outs)


class LocalSite(Resource):
    def __init__(self, name, *, sites_root, host, index_html, url_template, opts=None):
        super().__init__(
            LocalSiteProvider(),
            name,
            {
                "sites_root": str(sites_root),
                "host": host,
                "index_html": index_html,
                "url_template": url_template,
                "website_url": None,
                "content_hash": None,
            },
            opts,
        )
