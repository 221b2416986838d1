"""A quick check of a user-given URL when the form is posted (no network).

The job's fetch (sites/fetch.py) checks again with DNS and on every redirect; this only
turns away what is plainly wrong, so the user hears about it on the page.
"""
import ipaddress
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    pass


def check_url(url):
    if not url:
        raise UnsafeURL("Enter the URL of the page to publish.")
    if len(url) > 2000:
        raise UnsafeURL("The URL is longer than 2,000 characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// URLs can be fetched.")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with a user name or password are not accepted.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("The URL has no host name.")
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeURL("Addresses on this machine cannot be fetched.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: resolved and checked by the job
    if not address.is_global:
        raise UnsafeURL(f"The address {address} is private, loopback or link-local and "
                        "cannot be fetched.")
