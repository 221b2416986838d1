"""What a site program needs to know: plain data, no Django."""
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteSpec:
    stack_name: str  # stable, e.g. "site-u3-1a2b3c4d5e6f"
    owner: str  # the owner's username, for tags
    index_html: str  # the page to publish as index.html
    content_type: str = "text/html; charset=utf-8"
    label: str = ""  # the public host label (sites/address.py); the stack name if empty

    @property
    def host_label(self):
        return self.label or self.stack_name

    @property
    def content_hash(self):
        return hashlib.sha256(self.index_html.encode()).hexdigest()
