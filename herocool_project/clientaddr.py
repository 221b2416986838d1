"""The address of the client a request comes from, also behind reverse proxies.

X-Forwarded-For is believed only as far as it was written by proxies we trust
(settings.TRUSTED_PROXIES): walking it from the right, each hop appended by a trusted
peer is skipped, and the first address not trusted is the client. Anyone can send the
header, so from an untrusted peer it is ignored altogether.
"""
import functools
import ipaddress

from django.conf import settings


def client_address(request):
    """The client's address as text ("" when the server gave no peer address)."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return ""
    if not _trusted(peer):
        return str(peer)
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = _address(hop)
        if hop is None:  # malformed or empty: nothing left of it is to be believed
            break
        client = hop
        if not _trusted(hop):
            break
    return str(client)


def _address(text):
    """An IP address from a header or REMOTE_ADDR, IPv4-mapped IPv6 read as IPv4."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def _trusted(ip):
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


@functools.lru_cache(maxsize=8)
def _networks(entries):
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]
