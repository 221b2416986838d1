"""Fetch a user-given URL for a static site's content without letting it reach inside.

Runs in a background job. Every hop is checked: the scheme, the absence of credentials,
and every address the host name resolves to. The connection then goes to the checked
address itself, never re-resolving the name, so a DNS answer that changes between the
check and the connect (DNS rebinding) cannot steer the fetch to an inside address.
"""
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections import namedtuple
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from herocool_project.sizes import exact_bytes

from .charsets import decode

MAX_REDIRECTS = 5
PRIVATE = "is private, loopback or link-local and is refused"
REDIRECTS = {301, 302, 303, 307, 308}
CONTENT_TYPES = ("text/html", "text/plain")
SAFE_IN_PATH = "!#$%&'()*+,/:;=?@[]~"
SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")
# Cloud metadata services hand out credentials: refused whatever allow_private says.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
NETWORK_REASONS = (  # first match wins: the SSL and HTTP errors are also OSErrors
    (ssl.SSLCertVerificationError, "its TLS certificate is not valid"),
    (ssl.SSLError, "TLS failed"),
    (http.client.RemoteDisconnected, "it closed the connection without answering"),
    (http.client.HTTPException, "it did not answer with valid HTTP"),
    (ConnectionRefusedError, "connection refused"),
)
# host: ASCII (IDNA) name or address literal, no brackets; path: encoded, with the query.
_Target = namedtuple("_Target", "scheme host port path")


@dataclass(frozen=True)
class FetchedPage:
    content: str
    content_type: str  # e.g. "text/html; charset=utf-8": content is str, publish as UTF-8
    final_url: str


class FetchError(Exception):
    """A fetch failed; the message is written for the user and safe to show them."""


def fetch_page(url: str, *, max_bytes: int, timeout: float,
               allow_private: bool = False) -> FetchedPage:
    """Fetch an HTML or plain-text page, following at most MAX_REDIRECTS redirects.

    allow_private lets loopback addresses through, for tests' local servers only;
    every other private address, and cloud metadata, stays refused.
    """
    with Deadline(timeout) as deadline:
        for _ in range(MAX_REDIRECTS + 1):
            target, addresses = resolve_checked(url, allow_private)
            page, location = _exchange(target, addresses, url, max_bytes, deadline)
            if page is not None:
                return page
            url = urljoin(url, location)
    raise FetchError(f"Too many redirects (more than {MAX_REDIRECTS})")


def resolve_checked(url, allow_private=False):
    """(target, addresses): the URL parsed and every address its host resolves to, each
    checked. Connect (connect()) to these addresses, never to the name again. Also what
    webhooks go through (stacks/webhook_http.py). Raises FetchError."""
    target = _parse(url)
    return target, _resolve(target, allow_private)


def check_url(url: str) -> None:
    """What can be said of a URL without the network: the form's check, so the user
    hears at once. The fetch checks again, with DNS, on every hop."""
    if not url:
        raise FetchError("Enter the URL of the page to publish")
    if len(url) > 2000:
        raise FetchError("The URL is longer than 2,000 characters")
    target = _parse(url)
    name = target.host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise FetchError("Addresses on this machine are refused")
    addresses = _literal_addresses(target)
    if addresses is not None and _any_refused(addresses, allow_private=False):
        raise FetchError(f"The address {target.host} {PRIVATE}")
    # A name: resolved and checked by the fetch.


def _parse(url):
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise FetchError("The URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("Only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise FetchError("URLs with a user name or password are not allowed")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except (AttributeError, UnicodeError):  # no host at all, or not a valid name
        raise FetchError("The URL has no valid host name") from None
    path = quote(parts.path or "/", safe=SAFE_IN_PATH)
    if parts.query:
        path += "?" + quote(parts.query, safe=SAFE_IN_PATH)
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _resolve(target, allow_private):
    addresses = _literal_addresses(target)
    if addresses is None:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise FetchError(f"Could not connect to {target.host}: name does not "
                             "resolve") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if _any_refused(addresses, allow_private):
            # Saying what the name resolved to would map the inside.
            raise FetchError(f"{target.host} resolves to a private, loopback or link-local "
                             "address and is refused")
    elif _any_refused(addresses, allow_private):
        raise FetchError(f"The address {target.host} {PRIVATE}")
    return addresses


def _literal_addresses(target):
    """The addresses a host written as an address stands for, read as the C library reads
    it (127.1, 0x7f.1, 0177.0.0.1, 2130706433, ::ffff:127.0.0.1), with or without a
    trailing dot; None for a name. Never asks DNS: the form and the fetch share it."""
    try:
        infos = socket.getaddrinfo(target.host.rstrip("."), target.port,
                                   type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _any_refused(addresses, allow_private):
    return any(_refused(ipaddress.ip_address(a.split("%")[0]), allow_private)
               for a in addresses)


def _refused(ip, allow_private):
    # IPv4 addresses an IPv6 one carries, which a gateway may reach (NAT64's 64:ff9b::/96
    # is in ::/8, which ipaddress already calls reserved).
    if ip.version == 6 and any(v4 and _refused(v4, allow_private)
                               for v4 in (ip.ipv4_mapped, ip.sixtofour)):
        return True
    if ip in METADATA:
        return True
    if allow_private and ip.is_loopback:
        return False
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local
            or ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip in SHARED_SPACE)


def _exchange(target, addresses, url, max_bytes, deadline):
    """One request: (page, None) for a page, (None, location) for a redirect."""
    conn = response = None
    try:
        conn = connect(target, addresses, deadline)
        conn.request("GET", target.path, headers={"User-Agent": "Herocool-fetch/1",
                                                  "Accept": "text/html, text/plain;q=0.9"})
        conn.live.settimeout(deadline.left())
        response = conn.getresponse()
        deadline.left()  # raises if the watchdog cut the headers short
        location = _redirect_location(response)
        if location is not None:
            return None, location
        return _read_page(response, conn, url, max_bytes, deadline), None
    except (OSError, http.client.HTTPException) as error:
        raise network_error(error, target, deadline) from None
    finally:  # the response too: http.client hands it the socket of a closing response
        for part in (response, conn):
            if part is not None:
                part.close()


def network_error(error, target, deadline):
    """The FetchError to raise for an OSError or HTTPException met talking to target."""
    if deadline.expired or isinstance(error, TimeoutError):
        return deadline.error()
    reason = next((text for kind, text in NETWORK_REASONS if isinstance(error, kind)),
                  getattr(error, "strerror", None) or "network error")
    return FetchError(f"Could not connect to {target.host}: {reason}")


def connect(target, addresses, deadline):
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    for address in addresses:
        deadline.conn = conn = kind(target.host, target.port, address, deadline.left())
        try:
            conn.connect()
            return conn
        except OSError:
            conn.close()
            # Try the next address (say IPv4 after an unreachable IPv6) if one is left.
            if address == addresses[-1] or deadline.expired:
                raise


def _redirect_location(response):
    if response.status in REDIRECTS:
        location = response.getheader("Location")
        if not location:
            raise FetchError("The server sent a redirect without a Location")
        return location
    if response.status != 200:
        raise FetchError(f"The server answered HTTP {response.status}")
    return None


def _read_page(response, conn, url, max_bytes, deadline):
    kind = response.headers.get_content_type() if response.getheader("Content-Type") else None
    if kind not in CONTENT_TYPES:
        shown = (kind or "a page without a content type")[:80]
        raise FetchError(f"Only text/html and text/plain pages are accepted, not {shown}")
    if response.getheader("Content-Encoding", "identity").strip().lower() != "identity":
        raise FetchError("The server sent a compressed page, which is not supported")
    too_large = FetchError(f"The page is larger than {exact_bytes(max_bytes)}")
    if response.length is not None and response.length > max_bytes:
        raise too_large
    body = bytearray()
    # Read one byte past the limit to see it passed; a body read to its end closes itself.
    while len(body) <= max_bytes and not response.isclosed():
        conn.live.settimeout(deadline.left())
        chunk = response.read(min(64 * 1024, max_bytes + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    if len(body) > max_bytes:
        raise too_large
    if deadline.expired:  # the watchdog's shutdown looks like an end of body
        raise deadline.error()
    try:  # an RFC 2231 charset*= is itself decoded with a codec it names
        label = response.headers.get_content_charset()
    except (LookupError, UnicodeError, ValueError):
        label = None
    return FetchedPage(decode(bytes(body), label), f"{kind}; charset=utf-8", url)


def _tls_context():
    return ssl.create_default_context()


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to an address checked beforehand; the Host header still names the host.

    self.live keeps the socket after http.client drops conn.sock (it does on a response
    that ends at close), so reads can still be timed and the watchdog can still shut it.
    """

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address, self.live = address, None

    def connect(self):
        self.live = self.sock = socket.create_connection((self.address, self.port),
                                                         self.timeout)


class _PinnedHTTPS(_PinnedHTTP, http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        # SNI and the certificate check go by the host name, not the address dialled.
        self.live = self.sock = _tls_context().wrap_socket(self.sock, server_hostname=self.host)


class Deadline:
    """The fetch's overall time limit.

    Socket timeouts bound each read, but a server dripping a byte at a time could hold a
    fetch for ever, so a timer also shuts the open connection (self.conn) when time is up.
    """

    def __init__(self, seconds):
        self.seconds, self.expired, self.conn = seconds, False, None
        self._ends = time.monotonic() + seconds
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()

    def left(self):
        left = self._ends - time.monotonic()
        if self.expired or left <= 0:
            raise self.error()
        return left

    def _expire(self):
        self.expired = True
        if self.conn is not None and self.conn.live is not None:
            try:
                self.conn.live.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def error(self):
        return FetchError(f"Timed out after {self.seconds:g} s")
