"""The sites origin serving releases: only through `live` into the site's own releases,
custom domains only through their links to a site folder, and HTTP caching and gzip."""
import gzip
import os
import threading

import pytest

from sites.origin import accepts_gzip, make_server

from .test_origin import request

CSS = "body { margin: 0 }\n" * 50


@pytest.fixture
def root(tmp_path):
    """Site a with two releases (r2 live); site b; a secret beside the root."""
    sites = tmp_path / "sites"
    for release, title in (("r1", "one"), ("r2", "two")):
        folder = sites / "a" / "releases" / release
        (folder / "css").mkdir(parents=True)
        (folder / "index.html").write_text(f"<h1>{title}</h1>")
        (folder / "css" / "site.css").write_text(CSS)
    (sites / "a" / "releases" / "r2" / "404.html").write_text("<h1>a's own 404</h1>")
    (sites / "a" / "live").symlink_to("releases/r2")
    (sites / "b").mkdir()
    (sites / "b" / "index.html").write_text("<h1>site b</h1>")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "index.html").write_text("SECRET")
    (sites / ".domains").mkdir()
    (sites / ".domains" / "www.a.example").symlink_to("../a")
    (sites / ".domains" / "evil.example").symlink_to(tmp_path / "secret")
    (sites / ".domains" / "deep.example").symlink_to("../a/releases")
    return sites


@pytest.fixture
def port(root):
    server = make_server(root, port=0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_live_release_is_served_and_switching_it_is_seen_at_once(root, port):
    assert request(port)[2] == "<h1>two</h1>"
    (root / "a" / "next").symlink_to("releases/r1")
    os.replace(root / "a" / "next", root / "a" / "live")
    assert request(port)[2] == "<h1>one</h1>"


def test_release_folders_are_not_reachable_by_path(port):
    assert request(port, "/releases/r1/index.html")[0] == 404


def test_a_live_link_leading_out_of_the_releases_serves_nothing(root, port):
    (root / "a" / "live").unlink()
    (root / "a" / "live").symlink_to(root.parent / "secret")
    status, _, body = request(port)
    assert status == 404 and "SECRET" not in body


def test_the_sites_own_404_page(root, port):
    status, headers, body = request(port, "/nope")
    assert (status, body) == (404, "<h1>a's own 404</h1>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    os.replace(root / "a" / "live", root / "a" / "old")
    (root / "a" / "live").symlink_to("releases/r1")  # r1 has no 404.html
    assert request(port, "/nope")[2] == "Not found\n"


@pytest.mark.parametrize("host, expected", [
    ("www.a.example", "<h1>two</h1>"), ("WWW.A.example.:8001", "<h1>two</h1>")])
def test_a_custom_domain_serves_its_site(port, host, expected):
    assert request(port, host=host)[2] == expected


@pytest.mark.parametrize("host", ["evil.example", "deep.example", "nosuch.example",
                                  ".domains", "x.domains"])
def test_a_domain_link_that_does_not_name_a_site_serves_nothing(port, host):
    status, _, body = request(port, host=host)
    assert status == 404 and "SECRET" not in body


def conditional(port, path, **headers):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"Host": "a.localhost", **headers})
    response = conn.getresponse()
    result = response.status, response.headers, response.read()
    conn.close()
    return result


def test_conditional_gets_answer_304_without_a_body(port):
    _, headers, _ = conditional(port, "/css/site.css")
    tag, modified = headers["ETag"], headers["Last-Modified"]
    for ask in ({"If-None-Match": tag}, {"If-None-Match": f'"x", W/{tag}'},
                {"If-None-Match": "*"}, {"If-Modified-Since": modified}):
        status, got, body = conditional(port, "/css/site.css", **ask)
        assert (status, body, got["ETag"]) == (304, b"", tag), ask
    assert conditional(port, "/css/site.css", **{"If-None-Match": '"other"',
                                                "If-Modified-Since": modified})[0] == 200
    assert conditional(port, "/css/site.css",
                       **{"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})[0] == 200
    assert conditional(port, "/css/site.css", **{"If-Modified-Since": "garbage"})[0] == 200


def test_text_is_gzipped_when_the_client_takes_it(port):
    status, headers, body = conditional(port, "/css/site.css", **{"Accept-Encoding": "br, gzip"})
    assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body).decode() == CSS
    assert int(headers["Content-Length"]) == len(body) < len(CSS)
    plain = conditional(port, "/css/site.css")
    assert plain[1]["Content-Encoding"] is None and plain[2].decode() == CSS
    assert plain[1]["ETag"] != headers["ETag"]  # each encoding its own validator


@pytest.mark.parametrize("header, takes", [
    ("gzip", True), ("deflate, gzip;q=0.5", True), ("gzip;q=0", False), ("*", True),
    ("identity", False), ("", False), ("gzip;q=bad", False)])
def test_accept_encoding_is_read_with_its_q_values(header, takes):
    assert accepts_gzip(header) is takes
