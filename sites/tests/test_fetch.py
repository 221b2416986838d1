"""sites/fetch.py against a real loopback HTTP(S) server; DNS is stubbed, never queried.

An autouse guard makes any connection or name lookup beyond loopback fail the test, so
a broken check shows up as a failure, not as traffic to the outside.
"""
import http.server
import ipaddress
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from sites import fetch
from sites.fetch import FetchError, check_url, fetch_page

MAX = 1000
REAL_GETADDRINFO = socket.getaddrinfo
REAL_CREATE_CONNECTION = socket.create_connection


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        if host == "localhost" or _numeric(host):
            return REAL_GETADDRINFO(host, *args, **kwargs)
        raise AssertionError(f"test tried a DNS lookup of {host}")

    def create_connection(address, *args, **kwargs):
        if not _numeric(address[0]) or not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"test tried to connect to {address[0]}")
        return REAL_CREATE_CONNECTION(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)


def _numeric(host):
    try:
        return bool(REAL_GETADDRINFO(host, None, flags=socket.AI_NUMERICHOST))
    except socket.gaierror:
        return False


def fake_dns(monkeypatch, answers):
    """Stub DNS for made-up names; each name maps to a list of answers, one per lookup."""
    guarded = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return guarded(host, port, *args, **kwargs)
        addresses = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        if addresses is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        route, _, arg = self.path[1:].partition("/")
        getattr(self, "route_" + route.replace("-", "_"))(arg)

    def log_message(self, *args):
        pass

    def reply(self, body, content_type="text/html; charset=utf-8", length=None, status=200):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.end_headers()

    def route_page(self, arg):
        self.reply(f"<h1>Héllo</h1><p>Host: {self.headers['Host']}</p>".encode())

    def route_latin1(self, arg):
        self.reply("café".encode("latin-1"), "text/plain; charset=iso-8859-1")

    def route_typed(self, arg):  # arg: the content type, "-" for none, "_" for "/"
        self.send_response(200)
        if arg != "-":
            self.send_header("Content-Type", arg.replace("_", "/"))
        self.end_headers()
        self.wfile.write(b"{}")

    def route_missing(self, arg):
        self.reply(b"gone", status=404)

    def route_sized(self, arg):  # Content-Length and exactly arg bytes
        self.reply(b"x" * int(arg))

    def route_unsized(self, arg):  # no Content-Length: HTTP/1.0, the body ends at close
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"x" * int(arg))

    def route_endless(self, arg):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        stop = time.monotonic() + 10  # longer than any test's timeout: a client reading
        try:                          # it all would time out instead of refusing the size
            while time.monotonic() < stop:
                self.wfile.write(b"x" * 4096)
        except OSError:
            pass

    def route_claims_huge(self, arg):  # says 10 MB, sends 10 bytes: only the header tells
        self.reply(b"0123456789", length=10 * 1024 * 1024)

    def route_slow(self, arg):
        time.sleep(3)
        self.reply(b"late")

    def route_drip(self, arg):  # a byte of headers every 0.1 s, each read well in time
        try:
            self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Drip: ")
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def route_hop(self, arg):
        self.redirect(f"/hop/{int(arg) - 1}") if int(arg) > 0 else self.route_page(arg)

    def route_to(self, arg):  # redirect to a fixed outside or odd place
        self.redirect({"metadata": "http://169.254.169.254/latest/meta-data/",
                       "file": "file:///etc/passwd",
                       "private-name": "http://inside.test/"}[arg])


def _serve(server):
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def base():
    server = _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def get(url, **kwargs):
    kwargs.setdefault("max_bytes", MAX)
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("allow_private", True)
    return fetch_page(url, **kwargs)


def refused(url, **kwargs):
    with pytest.raises(FetchError) as caught:
        get(url, **kwargs)
    return str(caught.value)


# --- checks before any connection ------------------------------------------------------

@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd",
                                 "javascript:alert(1)", "data:text/html,<p>x</p>",
                                 "gopher://example.com/", "//example.com/"])
def test_only_http_and_https(url):
    assert refused(url) == "Only http and https URLs are allowed"


@pytest.mark.parametrize("url", ["http://user:pw@example.com/", "https://user@example.com/"])
def test_no_credentials_in_the_url(url):
    assert refused(url) == "URLs with a user name or password are not allowed"


@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.1.2.3", "[::1]", "169.254.169.254", "10.0.0.1", "192.168.1.1",
    "172.16.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1", "[::ffff:127.0.0.1]",
    "[::ffff:10.0.0.1]", "[fe80::1]", "[fd00::1]", "[64:ff9b::a00:1]", "[2002:a00:1::]",
    "[::]", "2130706433", "0x7f.1",
])
def test_non_global_addresses_are_refused(host):
    message = refused(f"http://{host}/", allow_private=False)
    # Forms ipaddress cannot read (2130706433) are names to it, with a name's message.
    assert "private, loopback or link-local" in message and message.endswith("is refused")


def test_localhost_is_refused():
    assert refused("http://localhost:1/", allow_private=False) == (
        "localhost resolves to a private, loopback or link-local address and is refused")


def test_a_name_resolving_to_loopback_is_refused_without_saying_where(monkeypatch):
    fake_dns(monkeypatch, {"evil.test": [["127.0.0.1"]]})
    message = refused("http://evil.test/", allow_private=False)
    assert message == ("evil.test resolves to a private, loopback or link-local address "
                       "and is refused")


def test_refused_if_any_of_the_addresses_is_private(monkeypatch):
    fake_dns(monkeypatch, {"mixed.test": [["1.1.1.1", "10.0.0.1"]]})
    assert "is refused" in refused("http://mixed.test/", allow_private=False)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/",
                                 "http://[fd00:ec2::254]/", "http://10.0.0.1/",
                                 "http://[::ffff:169.254.169.254]/"])
def test_allow_private_still_refuses_metadata_and_private_networks(url):
    assert "is refused" in refused(url, allow_private=True)


def test_a_name_that_does_not_resolve(monkeypatch):
    fake_dns(monkeypatch, {"example.invalid": [None]})
    assert refused("http://example.invalid/") == (
        "Could not connect to example.invalid: name does not resolve")


def test_a_closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert refused(f"http://127.0.0.1:{port}/") == (
        "Could not connect to 127.0.0.1: connection refused")


# --- against the loopback server -------------------------------------------------------

def test_fetches_a_page(base):
    page = get(f"{base}/page")
    assert page.content.startswith("<h1>Héllo</h1>")
    assert page.content_type == "text/html; charset=utf-8"
    assert page.final_url == f"{base}/page"


def test_connects_to_the_checked_address_but_names_the_host(monkeypatch, base):
    # A rebinding name: checked as loopback, then answering an inside address.
    port = base.rsplit(":", 1)[1]
    fake_dns(monkeypatch, {"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    page = get(f"http://rebind.test:{port}/page")
    assert f"Host: rebind.test:{port}" in page.content


def test_decodes_the_declared_charset(base):
    page = get(f"{base}/latin1")
    assert (page.content, page.content_type) == ("café", "text/plain; charset=utf-8")


@pytest.mark.parametrize("route", ["sized", "unsized"])
def test_a_page_of_exactly_max_bytes_is_accepted(base, route):
    assert len(get(f"{base}/{route}/{MAX}").content) == MAX


@pytest.mark.parametrize("route", ["sized", "unsized", "endless", "claims-huge"])
def test_a_page_over_max_bytes_is_refused(base, route):
    url = f"{base}/{route}/{MAX + 1}" if "sized" in route else f"{base}/{route}"
    started = time.monotonic()
    assert refused(url) == "The page is larger than 1000 bytes"
    assert time.monotonic() - started < 2  # stopped at the limit, not at the timeout


def test_the_size_limit_is_worded_in_megabytes(base):
    assert refused(f"{base}/claims-huge", max_bytes=1024 * 1024) == (
        "The page is larger than 1 MB")


@pytest.mark.parametrize("route", ["slow", "drip"])
def test_the_timeout_bounds_the_whole_fetch(base, route):
    started = time.monotonic()
    assert refused(f"{base}/{route}", timeout=0.5) == "Timed out after 0.5 s"
    assert time.monotonic() - started < 2


def test_follows_up_to_five_redirects(base):
    assert get(f"{base}/hop/5").final_url == f"{base}/hop/0"


def test_more_than_five_redirects_are_refused(base):
    assert refused(f"{base}/hop/6") == "Too many redirects (more than 5)"


@pytest.mark.parametrize("place, message", [
    ("metadata", "The address 169.254.169.254 is private, loopback or link-local and is refused"),
    ("file", "Only http and https URLs are allowed"),
    ("private-name", "inside.test resolves to a private, loopback or link-local address "
                     "and is refused"),
])
def test_every_redirect_is_checked_again(monkeypatch, base, place, message):
    # allow_private is on (the test server is on loopback): metadata is refused anyway.
    fake_dns(monkeypatch, {"inside.test": [["10.1.2.3"]]})
    assert refused(f"{base}/to/{place}") == message


@pytest.mark.parametrize("content_type", ["application_json", "image_png", "-"])
def test_only_html_and_plain_text_are_accepted(base, content_type):
    assert refused(f"{base}/typed/{content_type}").startswith(
        "Only text/html and text/plain pages are accepted")


def test_an_error_status_is_refused(base):
    assert refused(f"{base}/missing") == "The server answered HTTP 404"


# --- https -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A self-signed certificate for the name localhost only (no IP address in it)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", folder / "key.pem", "-out", folder / "cert.pem"],
                   check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_port(cert):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    _serve(server)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_https_verifies_the_certificate(tls_port):
    assert refused(f"https://localhost:{tls_port}/page") == (
        "Could not connect to localhost: its TLS certificate is not valid")


def test_https_checks_the_certificate_against_the_host_name(monkeypatch, cert, tls_port):
    # Trusting the test certificate, the fetch dials 127.0.0.1 yet must verify "localhost".
    monkeypatch.setattr(fetch, "_tls_context",
                        lambda: ssl.create_default_context(cafile=str(cert[0])))
    assert "Host: localhost:" in get(f"https://localhost:{tls_port}/page").content
    assert "certificate is not valid" in refused(f"https://127.0.0.1:{tls_port}/page")


@pytest.mark.parametrize("url, message", [
    ("", "Enter the URL"),
    ("gopher://example.com/", "Only http and https URLs are allowed"),
    ("http://a:b@example.com/", "user name or password"),
    ("http://x.localhost/", "Addresses on this machine are refused"),
    ("http://[::ffff:10.0.0.1]/", "is private, loopback or link-local and is refused"),
    ("http://" + "a" * 2000 + ".com/", "longer than 2,000 characters"),
])
def test_check_url_refuses_what_needs_no_network(url, message):
    with pytest.raises(FetchError, match=re.escape(message)):
        check_url(url)


def test_check_url_leaves_names_to_the_fetch():
    check_url("https://example.com/page.html")  # no DNS is asked: nothing raises
