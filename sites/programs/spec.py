"""What a site program needs to know: plain data, no Django."""
import hashlib
from dataclasses import dataclass

from ..archive import tree_hash


@dataclass(frozen=True)
class SiteSpec:
    stack_name: str  # stable, e.g. "site-u3-1a2b3c4d5e6f"
    owner: str  # the owner's username, for tags
    # The page, for a one-page site (and for callers that publish just a page: with no
    # files_dir, it is the release's one file, index.html).
    index_html: str = ""
    content_type: str = "text/html; charset=utf-8"
    # The release's files, staged by the job (sites/tree.py): their folder ("" when the
    # release is already published on the local target's host), and [(path, size)].
    files_dir: str = ""
    content_hash: str = ""  # sites/archive.tree_hash of the files: the release's name
    files: tuple = ()
    keep_releases: int = 10  # release folders the local target keeps to roll back to
    # Paths whose content differs from the live release's (the aws target invalidates
    # them at its CDN); empty for a first release.
    changed: tuple = ()
    # local: the verified custom domains the origin serves the site for.
    domains: tuple = ()
    # aws: an optional custom domain; the operator's Route 53 zone that validates its
    # certificate, if any; else whether the user's own DNS record got it issued.
    domain: str = ""
    hosted_zone_id: str = ""
    certificate_issued: bool = False
    label: str = ""  # the public host label (sites/address.py); the stack name if empty

    @property
    def host_label(self):
        return self.label or self.stack_name

    def __post_init__(self):
        if self.index_html and not self.files_dir and not self.content_hash:
            data = self.index_html.encode()
            page = {"index.html": (len(data), hashlib.sha256(data).hexdigest())}
            object.__setattr__(self, "content_hash", tree_hash(page))

    @property
    def page_only(self):
        """A page given as text, with no staged files: the program writes it itself."""
        return bool(self.index_html) and not self.files_dir and not self.files
