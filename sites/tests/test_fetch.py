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
import urllib.parse

import pytest

from sites import fetch
from sites.fetch import FetchError, check_url, fetch_page

MAX = 1000
REAL_GETADDRINFO = socket.getaddrinfo
REAL_CREATE_CONNECTION = socket.create_connection


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    def getaddrinfo(host, *args, **kwargs):
        if host == "localhost" or _numeric(host) or _numeric_only(args, kwargs):
            return REAL_GETADDRINFO(host, *args, **kwargs)
        raise AssertionError(f"test tried a DNS lookup of {host}")

    def create_connection(address, *args, **kwargs):
        if not _numeric(address[0]) or not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"test tried to connect to {address[0]}")
        return REAL_CREATE_CONNECTION(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)


def _numeric_only(args, kwargs):
    """Whether a getaddrinfo call asks for no lookup (AI_NUMERICHOST): never DNS."""
    flags = kwargs.get("flags", args[4] if len(args) > 4 else 0)
    return bool(flags & socket.AI_NUMERICHOST)


def _numeric(host):
    try:
        return bool(REAL_GETADDRINFO(host, None, flags=socket.AI_NUMERICHOST))
    except socket.gaierror:
        return False


def fake_dns(monkeypatch, answers):
    """Stub DNS for made-up names; each name maps to a list of answers, one per lookup."""
    guarded = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers or _numeric_only((port, *args), kwargs):
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

    def route_charset(self, arg):  # arg: "<charset>" or "<charset>:<body's own codec>"
        label, _, codec = urllib.parse.unquote(arg).partition(":")
        self.reply(SAMPLES[codec or "bytes"], f"text/html; charset={label}")

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


TEXT = {"windows-1251": "Привет", "koi8-r": "Привет", "iso-8859-5": "Привет",
        "shift_jis": "こんにちは", "euc-jp": "こんにちは", "iso-2022-jp": "こんにちは",
        "gb18030": "中文网页", "big5": "中文網頁", "euc-kr": "안녕하세요", "": "Привет, 世界"}
SAMPLES = {  # bytes that non-text codecs would turn into lone surrogates, NULs, or anything
    "bytes": b"caf\xc3\xa9 \\ud800 \\x00 +2D3/- eJzLSM3JyQcABiwCFQ== 48656c6c6f \x00end",
    "utf-16le": "h\u00e9".encode("utf-16-le") + b"\x00\xd8" + "!".encode("utf-16-le"),
    **{codec: TEXT.get(codec, TEXT[""]).encode(codec) for codec in (
        "windows-1251", "koi8-r", "shift_jis", "euc-jp", "iso-2022-jp", "gb18030", "big5",
        "euc-kr", "utf-16be", "iso-8859-5")},
}


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


NOT_TEXT = ["unicode_escape", "raw_unicode_escape", "rot13", "rot_13", "base64",
            "base64_codec", "zlib", "zlib_codec", "hex", "uu", "bz2", "utf-7", "utf7",
            "punycode", "idna", "quopri", "undefined", "mbcs", "x-nonsense",
            "unicode-escape", "UNICODE_ESCAPE", '"unicode_escape"']


@pytest.mark.parametrize("label", NOT_TEXT)
def test_a_charset_that_is_not_a_text_encoding_is_read_as_utf8(base, label):
    content = get(f"{base}/charset/{label}").content
    expected = SAMPLES["bytes"].decode("utf-8", "replace").replace("\x00", "\ufffd")
    assert content == expected
    assert not any(
        "\ud800" <= c <= "\udfff" or c == "\x00" for c in content)


@pytest.mark.parametrize("label, codec", [(codec, codec) for codec in SAMPLES
                                          if codec not in ("bytes", "utf-16le")] + [
    ("cp1251", "windows-1251"), ("KOI8-R", "koi8-r"), ("x-sjis", "shift_jis"),
    ("iso_8859-5", "iso-8859-5"), ("gbk", "gb18030")])
def test_real_text_encodings_are_decoded(base, label, codec):
    assert get(f"{base}/charset/{label}:{codec}").content == TEXT.get(codec, TEXT[""])


@pytest.mark.django_db
def test_no_lone_surrogate_or_nul_reaches_the_database(base, alice):
    from sites.models import Site

    for label, sample in [("utf-16le", "utf-16le"), ("unicode_escape", ""), ("utf-8", "")]:
        content = get(f"{base}/charset/{label}:{sample}").content
        assert not any("\ud800" <= c <= "\udfff" or c == "\x00" for c in content)
        Site.objects.create(owner=alice, name=f"s-{label.replace('_', '-')}", content=content)
    assert get(f"{base}/charset/utf-16le:utf-16le").content == "h\u00e9\ufffd!"


@pytest.mark.parametrize("route", ["sized", "unsized"])
def test_a_page_of_exactly_max_bytes_is_accepted(base, route):
    assert len(get(f"{base}/{route}/{MAX}").content) == MAX


@pytest.mark.parametrize("route", ["sized", "unsized", "endless", "claims-huge"])
def test_a_page_over_max_bytes_is_refused(base, route):
    url = f"{base}/{route}/{MAX + 1}" if "sized" in route else f"{base}/{route}"
    started = time.monotonic()
    assert refused(url) == "The page is larger than 1,000 bytes"
    assert time.monotonic() - started < 2  # stopped at the limit, not at the timeout


def test_the_size_limit_is_stated_exactly(base):
    assert refused(f"{base}/claims-huge", max_bytes=1024 * 1024) == (
        "The page is larger than 1,048,576 bytes (1 MiB)")


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
