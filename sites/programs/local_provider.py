"""A Pulumi dynamic provider that publishes a site's releases under the sites root.

Each release is a folder of its own, named by its content hash, and the site's `live`
symlink names the one served:

    SITES_ROOT/<host>/releases/<content hash>/...   (immutable once published)
    SITES_ROOT/<host>/live -> releases/<content hash>
    SITES_ROOT/.staging/<host>.*/                    (the job's staged files)

The job stages the files on the same file system; publishing is one rename of that
folder, and going live is one rename of a new symlink over `live`, so a visitor sees the
old release or the new one, never half of either. A rollback to a release still here
renames nothing but the symlink. Importable with no Django: the engine's provider process
unpickles this class by reference (dill), so it must live in a module of its own.
"""
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider
from pulumi.dynamic import UpdateResult

from ..archive import folder_manifest, tree_hash

RELEASES = "releases"
LIVE = "live"
STAGING = ".staging"
DOMAINS = ".domains"  # SITES_ROOT/.domains/<domain> -> ../<host>: what the origin serves


def _site_dir(props):
    return Path(props["sites_root"]) / props["host"]


def _publish(props, olds=None):
    site = _site_dir(props)
    releases = site / RELEASES
    releases.mkdir(parents=True, exist_ok=True, mode=0o700)
    content_hash = props["content_hash"]
    target = releases / content_hash
    if not intact(target, content_hash):
        shutil.rmtree(target, ignore_errors=True)  # changed by hand: published anew
        _fill(target, props)
    os.utime(target)  # the newest published: the last one pruning removes
    _go_live(site, content_hash)
    _prune(releases, int(props.get("keep_releases") or 1), live=content_hash)
    _clear_staging(props)  # what earlier jobs (previews, failures) left
    legacy = site / "index.html"  # a one-page site published before releases
    if legacy.is_file() and not legacy.is_symlink():
        legacy.unlink()
    _publish_domains(props, dropped=set((olds or {}).get("domains") or ()) -
                     set(props.get("domains") or ()))
    return _outs(props, content_hash)


def _publish_domains(props, dropped=()):
    """Link each verified domain to the site (atomically, taking it over from a site
    that held it before); unlink the ones it no longer has."""
    folder = Path(props["sites_root"]) / DOMAINS
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in props.get("domains") or ():
        tmp = folder / f".{name}-{uuid.uuid4().hex}"
        os.symlink(f"../{props['host']}", tmp)
        os.replace(tmp, folder / name)
    for name in dropped:
        _unlink_if_ours(folder / name, props["host"])


def _unlink_if_ours(link, host):
    if link.is_symlink() and Path(os.readlink(link)).name == host:
        link.unlink()


def _clear_staging(props):
    for left in (Path(props["sites_root"]) / STAGING).glob(f"{props['host']}.*"):
        shutil.rmtree(left, ignore_errors=True)


def intact(folder, content_hash):
    """True when the folder holds exactly the release named content_hash."""
    return folder.is_dir() and tree_hash(folder_manifest(folder)) == content_hash


def _fill(target, props):
    """The release's folder, from the job's staged files (one rename), or written here
    from the page given as text."""
    staged = props.get("files_dir") or ""
    if staged and Path(staged).is_dir():
        os.rename(staged, target)
        return
    if not props.get("index_html"):
        raise RuntimeError(f"the files of release {props['content_hash'][:12]} are "
                           "neither published on this host nor staged")
    tmp = target.parent / f".{target.name}-{uuid.uuid4().hex}"
    tmp.mkdir(mode=0o700)
    (tmp / "index.html").write_bytes(props["index_html"].encode())
    (tmp / "index.html").chmod(0o600)
    os.rename(tmp, target)


def _go_live(site, content_hash):
    """Point `live` at the release in one atomic rename."""
    tmp = site / f".live-{uuid.uuid4().hex}"
    os.symlink(f"{RELEASES}/{content_hash}", tmp)
    os.replace(tmp, site / LIVE)


def _prune(releases, keep, *, live):
    """Keep the `keep` most recently published release folders, and the live one."""
    folders = [d for d in releases.iterdir() if d.is_dir() and not d.is_symlink()]
    folders.sort(key=lambda d: d.stat().st_mtime_ns, reverse=True)
    for folder in folders[max(keep, 1):]:
        if folder.name != live:
            shutil.rmtree(folder, ignore_errors=True)


def live_hash(site):
    """The content hash of what `live` really serves (hashed afresh, so an edit by hand
    shows as drift), or None."""
    link = site / LIVE
    if not link.is_symlink():
        return None
    folder = site / RELEASES / Path(os.readlink(link)).name
    return tree_hash(folder_manifest(folder)) if folder.is_dir() else None


def _outs(props, content_hash):
    return {
        **props,
        "files_dir": "",  # staged files are gone once published: not worth keeping
        "website_url": props["url_template"].format(host=props["host"]),
        "content_hash": content_hash,
    }


class LocalSiteProvider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_=props["host"], outs=_publish(props))

    def diff(self, _id, olds, news):
        watched = ("content_hash", "url_template", "domains")
        changes = [k for k in watched if olds.get(k) != news.get(k)]
        moved = [k for k in ("sites_root", "host") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changes or moved), replaces=moved,
                          delete_before_replace=True)

    def update(self, _id, olds, news):
        return UpdateResult(outs=_publish(news, olds))

    def delete(self, _id, props):
        for name in props.get("domains") or ():
            _unlink_if_ours(Path(props["sites_root"]) / DOMAINS / name, props["host"])
        _clear_staging(props)
        shutil.rmtree(_site_dir(props), ignore_errors=True)

    def read(self, id_, props):
        """What is really live: a missing release shows up as drift."""
        content_hash = live_hash(_site_dir(props))
        legacy = _site_dir(props) / "index.html"  # published before releases
        if content_hash is None and legacy.is_file():
            data = legacy.read_bytes()
            content_hash = hashlib.sha256(data).hexdigest()
        if content_hash is None:
            return ReadResult(id_=None, outs={})
        return ReadResult(id_=id_, outs=_outs(props, content_hash))


class LocalSite(Resource):
    def __init__(self, name, *, sites_root, host, url_template, content_hash="",
                 files_dir="", keep_releases=10, domains=(), index_html="", opts=None):
        if index_html and not content_hash:  # a page given as text (bench, tests)
            data = index_html.encode()
            content_hash = tree_hash(
                {"index.html": (len(data), hashlib.sha256(data).hexdigest())})
        super().__init__(
            LocalSiteProvider(),
            name,
            {
                "sites_root": str(sites_root),
                "host": host,
                "content_hash": content_hash,
                "files_dir": files_dir,
                "keep_releases": keep_releases,
                "domains": list(domains),
                "index_html": index_html,
                "url_template": url_template,
                "website_url": None,
            },
            opts,
        )
