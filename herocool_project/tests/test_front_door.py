"""The first middleware: foreign hosts get a plain 400 and bodies past their path's limit a
413, before Django reads a byte of them; the site pages take what their form explains."""
import io
import os

import pytest
from django.urls import reverse

from herocool_project.sizes import exact_bytes
from herocool_project.wsgi import application
from sites.models import Site

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
LEAKS = ("DisallowedHost", "Traceback", "settings", "SECRET", "DEBUG", "ALLOWED_HOSTS")


@pytest.mark.parametrize("debug", [True, False])
def test_a_foreign_host_gets_a_plain_400(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/", HTTP_HOST="evil.example")
    page = response.content.decode()
    assert response.status_code == 400
    assert "sent to a host name this server does not serve" in page
    assert not [leak for leak in LEAKS if leak in page]


@pytest.mark.parametrize("debug", [True, False])
def test_a_foreign_host_gets_a_plain_400_through_wsgi(settings, debug):
    settings.DEBUG = debug
    answer = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/login/", "SERVER_NAME": "evil.example",
               "SERVER_PORT": "80", "HTTP_HOST": "evil.example:80", "wsgi.input": io.BytesIO(),
               "wsgi.url_scheme": "http", "REMOTE_ADDR": "203.0.113.9"}
    body = b"".join(application(environ, lambda status, headers: answer.update(
        status=status)))
    assert answer["status"].startswith("400")
    assert not [leak for leak in LEAKS if leak.encode() in body]


class Body(io.RawIOBase):
    """A request body made on demand, counting what the server reads of it."""

    def __init__(self, size, temp_dir):
        self.size, self.read_bytes, self.temp_dir, self.spooled = size, 0, temp_dir, []
        self.head = (b"--x\r\nContent-Disposition: form-data; name=\"upload\"; "
                     b"filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n")

    def read(self, n=-1):
        n = self.size - self.read_bytes if n is None or n < 0 else n
        n = min(n, self.size - self.read_bytes)
        chunk = (self.head + b"a" * n)[self.read_bytes:self.read_bytes + n] \
            if self.read_bytes < len(self.head) else b"a" * n
        self.read_bytes += len(chunk)
        self.spooled.extend(os.listdir(self.temp_dir))  # what Django has written so far
        return chunk

    readline = read


@pytest.mark.parametrize("url", ["/login/", "/admin/login/", "/signup/", "/nowhere/"])
def test_a_50_mib_post_is_refused_before_a_byte_is_read(client, settings, tmp_path, url):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    body = Body(50 * MiB, tmp_path)
    response = client.post(url, b"", content_type="multipart/form-data; boundary=x",
                           CONTENT_LENGTH=str(body.size), **{"wsgi.input": body})
    assert response.status_code == 413
    assert "is 52,428,800 bytes (50 MiB); this page accepts at most 65,536 bytes (64 KiB)" \
        in response.content.decode()
    assert body.read_bytes == 0 and body.spooled == [] and os.listdir(tmp_path) == []


def test_a_body_without_a_length_is_refused(client):
    response = client.post("/login/", b"", content_type="text/plain",
                           HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="")
    assert response.status_code == 413 and "no declared length" in response.content.decode()


def test_a_body_within_the_limit_goes_through(client, settings):
    settings.REQUEST_MAX_BYTES = 200
    data = "username=alice&password=" + "x" * 170
    response = client.post("/login/", data, content_type="application/x-www-form-urlencoded")
    assert len(data) <= 200 and response.status_code == 200
    response = client.post("/login/", data + "x" * 200,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def _paste(client, html, **kwargs):
    return client.post(reverse("sites-create"),
                       {"name": "big", "source": "html", "html": html}, **kwargs)


def test_html_just_over_the_limit_gets_the_forms_exact_message(alice_client, settings):
    settings.SITE_MAX_BYTES = MiB
    response = _paste(alice_client, "a" * (MiB + 1))
    assert response.status_code == 200
    assert ("The page is 1,048,577 bytes; the limit is 1,048,576 bytes (1 MiB)."
            in response.content.decode())
    assert not Site.objects.exists()


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_html_up_to_the_hard_cap_reaches_the_form(alice_client, settings, encoding):
    """Not a bare 400 (RequestDataTooBig): 1 MiB of '<' is 3 MiB URL-encoded."""
    html = "<" * (MiB + 10) if encoding == "urlencoded" else "a" * (3 * MiB + 5)
    if encoding == "urlencoded":
        from urllib.parse import urlencode
        response = alice_client.post(
            reverse("sites-create"), urlencode({"name": "big", "source": "html", "html": html}),
            content_type="application/x-www-form-urlencoded")
    else:
        response = _paste(alice_client, html)
    assert response.status_code == 200
    assert f"The page is {len(html):,} bytes; the limit is" in response.content.decode()


def test_html_past_the_hard_cap_gets_the_413_page(alice_client, settings):
    response = _paste(alice_client, "a" * (settings.REQUEST_MAX_BYTES_SITE_FORM + 1))
    page = response.content.decode()
    assert response.status_code == 413
    assert f"this page accepts at most {exact_bytes(settings.REQUEST_MAX_BYTES_SITE_FORM)}" \
        in page
    assert "paste or upload a smaller page" in page


def test_a_content_length_that_is_not_a_number_is_a_plain_400(client):
    response = client.post("/login/", b"x", content_type="text/plain", CONTENT_LENGTH="1e9")
    assert response.status_code == 400 and "could not be understood" in (
        response.content.decode())
