"""The files of a site's next release, staged by its deployment job before the engine runs.

The local target stages them under SITES_ROOT/.staging/<stack>-*, on the file system the
release will live on, so its provider publishes them with one rename; the cloud target
stages them in a temporary folder of the worker's. A release whose files are still on
this host (a rollback) is not staged again.
"""
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .archive import ArchiveError, Limits, folder_manifest, tree_hash, unpack

STAGING = ".staging"
RELEASES = "releases"


@dataclass(frozen=True)
class Tree:
    folder: str  # where its files are staged; "" when already published on this host
    manifest: dict  # {path: (size, sha256)}

    @property
    def content_hash(self):
        return tree_hash(self.manifest)


class StageError(Exception):
    """The files could not be staged (message safe to show)."""


def limits():
    return Limits(max_files=settings.SITE_MAX_FILES,
                  max_total_bytes=settings.SITE_UNPACKED_MAX_BYTES,
                  max_file_bytes=settings.SITE_FILE_MAX_BYTES,
                  max_ratio=settings.SITE_MAX_INFLATE_RATIO)


def site_folder(site):
    return Path(settings.SITES_ROOT) / site.host_label


def published(site, content_hash):
    """True when that release's files are on this host already, unchanged (local)."""
    folder = site_folder(site) / RELEASES / content_hash
    return site.target == "local" and folder.is_dir() and \
        tree_hash(folder_manifest(folder)) == content_hash


def stage(site, archive_data=None):
    """Tree of the site's files as its fields say: its archive unpacked, or its page as
    index.html. Raises StageError; a failure leaves no staged files behind, and what an
    earlier job of the site left (a failed or previewed one) goes now."""
    try:
        parent = _staging_parent(site)
        # "<label>.": a label has no dot, so no other site's label can match.
        for left in parent.glob(f"{site.host_label}.*"):  # one job per stack at a time
            shutil.rmtree(left, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(dir=parent, prefix=f"{site.host_label}."))
    except OSError as exc:
        raise StageError(f"Staging the site's files failed: {exc}") from None
    try:
        if archive_data is not None:
            manifest = unpack(archive_data, limits(), folder)
        else:
            manifest = _write_page(folder, site.content.encode())
    except ArchiveError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise StageError(str(exc)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Tree(folder=str(_named_by_content(folder, manifest)), manifest=manifest)


def _named_by_content(folder, manifest):
    """The staged folder renamed '<label>.<content hash>': the same files stage to the
    same path, so an apply's inputs equal its preview's and the update plan holds
    (a random name differed on every job, and the plan refused the apply)."""
    named = folder.with_name(f"{folder.name.split('.', 1)[0]}.{tree_hash(manifest)}")
    try:
        folder.rename(named)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise StageError(f"Staging the site's files failed: {exc}") from None
    return named


def _staging_parent(site):
    if site.target != "local":  # any worker: a folder of this machine's, in the private
        # data directory: a fixed name in the shared /tmp could be made first by another
        # local account, who could then swap the files before they are uploaded.
        parent = Path(settings.DATA_DIR) / "staging"
    else:
        parent = Path(settings.SITES_ROOT) / STAGING
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return parent


def _write_page(folder, data):
    (folder / "index.html").write_bytes(data)
    (folder / "index.html").chmod(0o600)
    return {"index.html": (len(data), hashlib.sha256(data).hexdigest())}


def discard(tree):
    """Remove a staged tree that was not published (a cloud target's, after its job)."""
    if tree is not None and tree.folder:
        shutil.rmtree(tree.folder, ignore_errors=True)
