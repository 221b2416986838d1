"""sites/origin.py on a free loopback port, sites in a temporary root, Host sent by hand."""
import http.client
import logging
import socket
import threading

import pytest

from sites.origin import SECURITY_HEADERS, make_server


@pytest.fixture
def root(tmp_path):
    """Sites a and b, a secret beside the root, and symlinks that try to reach it."""
    sites = tmp_path / "sites"
    (sites / "a" / "sub").mkdir(parents=True)
    (sites / "b").mkdir()
    (sites / "a" / "index.html").write_text("<h1>site a</h1>")
    (sites / "a" / "sub" / "index.html").write_text("<h1>a's sub</h1>")
    (sites / "a" / "style.css").write_text("h1 { color: red }")
    (sites / "a" / "evil.example").mkdir()
    (sites / "a" / ".index-tmp").write_text("half written")
    (sites / "b" / "index.html").write_text("<h1>site b</h1>")
    (sites / "Upper").mkdir()  # not a label: never served, whatever the file system
    (sites / "Upper" / "index.html").write_text("<h1>site Upper</h1>")
    (tmp_path / "secret.txt").write_text("SECRET")
    (sites / "a" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (sites / "a" / "leakdir").symlink_to(tmp_path)
    (sites / "a" / "to-b.html").symlink_to(sites / "b" / "index.html")
    (sites / "a" / "same.html").symlink_to(sites / "a" / "index.html")
    (sites / "c").symlink_to(sites / "b")
    (sites / "up").symlink_to(tmp_path)
    return sites


@pytest.fixture
def port(root):
    server = make_server(root, port=0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def request(port, path="/", host="a.localhost", method="GET"):
    """(status, headers, body text); host None sends no Host header, a list sends several."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for value in [] if host is None else [host] if isinstance(host, str) else host:
        conn.putheader("Host", value)
    conn.endheaders()
    response = conn.getresponse()
    result = response.status, response.headers, response.read().decode()
    conn.close()
    return result


def raw_request(port, data):
    """Send bytes as they are (http.client would refuse some of these) and read the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply.decode("latin-1")


def test_each_host_gets_its_own_site(port):
    assert request(port, host=f"a.localhost:{port}")[2] == "<h1>site a</h1>"
    assert request(port, host=f"b.localhost:{port}")[2] == "<h1>site b</h1>"
    assert request(port, "/index.html", host="b.sites.example.org")[2] == "<h1>site b</h1>"


def test_an_unknown_site_is_404(port):
    status, headers, body = request(port, host="nosuch.localhost")
    assert (status, headers["Content-Type"], body) == (
        404, "text/plain; charset=utf-8", "No site here\n")


@pytest.mark.parametrize("path", [
    "/../b/index.html", "/%2e%2e/b/index.html", "/%2E%2E/%2E%2E/secret.txt",
    "/..%2fb%2findex.html", "/%2e%2e%2f%2e%2e%2fsecret.txt", "/sub/../../b/index.html",
    "/../../secret.txt", "//etc/passwd", "/etc/passwd", f"/{'../' * 8}etc/passwd",
    "/leak.txt", "/leakdir/secret.txt", "/leakdir/sites/b/index.html", "/to-b.html",
    "/%00/index.html", "/.index-tmp", "/./index.html%00", "/..\\b\\index.html",
    "http://b.localhost/index.html", "*",
])
def test_paths_never_leave_the_site(port, path):
    status, _, body = request(port, path)
    assert status in (400, 404)
    assert "SECRET" not in body and "site b" not in body and "root:" not in body


@pytest.mark.parametrize("request_line", [
    b"GET /../b/index.html", b"GET /%2e%2e/b/index.html", b"GET http://b.localhost/index.html"])
def test_raw_traversal_is_refused_too(port, request_line):
    reply = raw_request(port, request_line + b" HTTP/1.0\r\nHost: a.localhost\r\n\r\n")
    assert reply.startswith("HTTP/1.0 404") and "site b" not in reply


def test_a_symlink_inside_the_site_is_followed(port):
    assert request(port, "/same.html")[2] == "<h1>site a</h1>"


@pytest.mark.parametrize("host", [
    None, "", ["a.localhost", "b.localhost"], "a", "localhost", f"{'a' * 64}.localhost",
    "A.localhost", "Upper.localhost", "UPPER.localhost", "a_b.localhost", "-a.localhost", ".localhost", "a..localhost",
    "a b.localhost", "[::1]", "127.0.0.1", "a.", "c.localhost", "up.localhost",
    "..", "%61.localhost",
])
def test_a_bad_host_header_finds_no_site(port, host):
    status, _, body = request(port, host=host)
    assert status in (400, 404) and "site" not in body.replace("No site here", "")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(port, method):
    status, headers, _ = request(port, method=method)
    assert (status, headers["Allow"]) == (405, "GET, HEAD")


def test_head_sends_headers_without_a_body(port):
    # A raw socket: http.client would skip a body after HEAD even if one were sent.
    reply = raw_request(port, b"HEAD / HTTP/1.0\r\nHost: a.localhost\r\n\r\n")
    head, _, body = reply.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.0 200") and "Content-Length: 15" in head and body == ""


@pytest.mark.parametrize("path, host, method", [
    ("/", "a.localhost", "GET"), ("/nope", "a.localhost", "GET"),
    ("/", "nosuch.localhost", "GET"), ("/", "a.localhost", "POST"),
    ("/sub", "a.localhost", "GET"), ("/", "a.localhost", "BREW"),
])
def test_security_headers_on_every_response(port, path, host, method):
    _, headers, _ = request(port, path, host, method)
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value


def test_content_types(port):
    assert request(port)[1]["Content-Type"] == "text/html; charset=utf-8"
    assert request(port, "/style.css")[1]["Content-Type"] == "text/css; charset=utf-8"


def test_a_directory_serves_its_index_and_gains_its_slash(port):
    assert request(port, "/sub/")[2] == "<h1>a's sub</h1>"
    status, headers, _ = request(port, "/sub?x=1")
    assert (status, headers["Location"]) == (301, "/sub/")


def test_the_slash_redirect_never_leads_off_site(port):
    status, headers, _ = request(port, "//evil.example")
    assert (status, headers["Location"]) == (301, "/evil.example/")


def test_an_update_shows_at_once(root, port):
    assert request(port)[2] == "<h1>site a</h1>"
    (root / "a" / "index.html").write_text("<h1>site a, v2</h1>")
    status, headers, body = request(port)
    assert (body, headers["Cache-Control"]) == ("<h1>site a, v2</h1>", "no-cache")


def test_the_access_log_goes_to_a_logger(port, caplog, capfd):
    with caplog.at_level(logging.INFO, logger="sites.origin"):
        request(port, "/style.css")
    assert any('"GET /style.css HTTP/1.1" 200' in r.getMessage() for r in caplog.records)
    assert capfd.readouterr().err == ""
