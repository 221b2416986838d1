"""The HTTP server for users' published sites, on an origin apart from the platform's.

User HTML must never run beside the platform's session cookie, so sites are served here,
each on a host name of its own: Host `<label>.<anything>[:port]` serves
SITES_ROOT/<label>/. There is deliberately no path form (/<label>/...): it would put
every site on one origin, where one user's script could read another's pages. Browsers
resolve `*.localhost` to loopback by themselves (RFC 6761), so
http://<label>.localhost:8001/ needs no DNS set-up; other clients can send the Host
header themselves, as the tests do.
"""
import gzip
import logging
import os
import re
import shutil
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

from .programs.content_types import compressible, content_type

logger = logging.getLogger(__name__)

LABEL = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# A user's page is theirs, so nothing here limits its scripts, styles or images: any
# ordinary static site keeps working. What protects the platform is the separate origin
# and the platform's own headers (frame-ancestors 'none' and X-Frame-Options: DENY, so a
# user page cannot frame it). These add: no MIME sniffing (a .txt never runs as HTML);
# no Referer (site URLs and their visitors stay out of other logs); no-cache (a publish
# shows at once); COOP, so a page opened from the platform cannot reach back through
# window.opener; and no plugins.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": "object-src 'none'",
}


class SitesServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root, address):
        self.root = Path(root).resolve()
        super().__init__(address, SiteHandler)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8001) -> SitesServer:
    """A server for the sites under root, bound but not yet serving (port 0: any free)."""
    return SitesServer(root, (host, port))


def serve(root: Path, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve the sites under root until interrupted."""
    with make_server(root, host, port) as server:
        logger.info("Serving sites from %s on http://%s:%d/", server.root, host,
                    server.server_address[1])
        server.serve_forever()


def site_dir(root: Path, hosts: list) -> Path | None:
    """The site a request's Host header(s) name, if it is published under root."""
    if len(hosts) != 1:  # none, or several to choose from: ambiguous
        return None
    labels = hosts[0].split(":", 1)[0].removesuffix(".").split(".")
    if len(labels) < 2 or not all(LABEL.fullmatch(label) for label in labels):
        return None
    site = root / labels[0]
    # A site directory that is a symlink could lead anywhere, even into another site.
    if site.is_symlink() or not site.is_dir():
        return None
    return site


def path_segments(request_path: str) -> list | None:
    """The decoded path segments of a request, or None if any could step outside."""
    path = request_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):  # e.g. an absolute-form http://other-site/ target
        return None
    segments = [s for s in unquote(path).split("/") if s]
    # Dot files too: the publisher's temporary files and any .git stay unserved.
    if any(s.startswith(".") or "\x00" in s or "\\" in s for s in segments):
        return None
    return segments


def confined(base: Path, path: Path) -> Path | None:
    """path with symlinks resolved, if it is still inside base."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    return resolved if resolved.is_relative_to(base.resolve()) else None


# --- what is served from a site's folder (issue #15) ------------------------------------
# Text is compressed when the client takes gzip, from this size (smaller gains nothing)
# up to this one (larger is sent as it is rather than held in memory).
GZIP_MIN = 256
GZIP_MAX = 8 * 1024 * 1024


DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


def domain_dir(root: Path, hosts: list) -> Path | None:
    """The site a verified custom domain names (SITES_ROOT/.domains/<domain>, a link the
    site's deployment made), if it leads to a site folder directly under root."""
    if len(hosts) != 1:
        return None
    name = hosts[0].split(":", 1)[0].lower().removesuffix(".")
    if not DOMAIN.fullmatch(name):
        return None
    site = confined(root, root / ".domains" / name)
    if site is None or site.parent != root.resolve() or not site.is_dir():
        return None
    return site


def docroot(site: Path) -> Path | None:
    """The folder a request to `site` is served from, resolved once, so one request sees
    one release even if another goes live meanwhile: the release its `live` symlink names
    (sites/programs/local_provider.py), or the folder itself for a site published before
    releases existed."""
    live = site / "live"
    if live.is_symlink():
        release = confined(site / "releases", live)
        return release if release is not None and release.is_dir() else None
    if live.exists():
        return None
    return site.resolve()


def etag(stat, zipped=False) -> str:
    """A strong validator of the file's bytes (and of the encoding sent)."""
    tag = f"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}"
    return f'"{tag}-gz"' if zipped else f'"{tag}"'


def not_modified(headers, tag, mtime) -> bool:
    """Whether a conditional GET may be answered 304 (RFC 9110: If-None-Match first)."""
    match = headers.get("If-None-Match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or tag in tags
    since = headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return int(mtime) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an unreadable date is ignored, as the RFC says


def accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") \
                else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


class SiteHandler(BaseHTTPRequestHandler):
    server_version = "herocool-sites"
    sys_version = ""
    timeout = 30  # a slow client gives up its thread
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"

    def do_GET(self):
        self._serve()

    do_HEAD = do_GET

    def _refuse_method(self):
        self._plain(405, "Only GET and HEAD are allowed", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse_method

    def _serve(self):
        hosts = self.headers.get_all("Host") or []
        site = site_dir(self.server.root, hosts) or domain_dir(self.server.root, hosts)
        root = None if site is None else docroot(site)
        if root is None:
            return self._plain(404, "No site here")
        segments = path_segments(self.path)
        target = None if segments is None else confined(root, root.joinpath(*segments))
        if target is not None and target.is_dir():
            if not self.path.split("?", 1)[0].endswith("/"):
                # Rebuilt from the segments: "//evil.example" must not become a redirect off.
                location = "".join("/" + quote(s) for s in segments) + "/"
                return self._plain(301, "Moved", {"Location": location})
            target = confined(root, target / "index.html")
        if target is None or not target.is_file():
            return self._not_found(root)
        self._send_file(target)

    def _not_found(self, root):
        """The site's own 404.html when it has one."""
        page = confined(root, root / "404.html")
        if page is None or not page.is_file():
            return self._plain(404, "Not found")
        self._send_file(page, status=404)

    def _send_file(self, path, status=200):
        kind = content_type(path.name)
        try:
            file = path.open("rb")
        except OSError:
            return self._plain(404, "Not found")
        with file:
            stat = os.fstat(file.fileno())
            zipped = status == 200 and compressible(kind) and GZIP_MIN <= stat.st_size \
                <= GZIP_MAX and accepts_gzip(self.headers.get("Accept-Encoding", ""))
            headers = {"ETag": etag(stat, zipped),
                       "Last-Modified": formatdate(stat.st_mtime, usegmt=True)}
            if compressible(kind):
                headers["Vary"] = "Accept-Encoding"
            if status == 200 and not_modified(self.headers, headers["ETag"], stat.st_mtime):
                return self._head_only(304, headers)
            body = gzip.compress(file.read(), 6) if zipped else None
            headers["Content-Type"] = kind
            headers["Content-Length"] = str(stat.st_size if body is None else len(body))
            if zipped:
                headers["Content-Encoding"] = "gzip"
            self._head_only(status, headers)
            if self.command == "GET":
                if body is None:
                    shutil.copyfileobj(file, self.wfile)
                else:
                    self.wfile.write(body)

    def _head_only(self, code, headers):
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _plain(self, code, message, headers=None):
        body = f"{message}\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def end_headers(self):
        # Here, so the base class's own errors (400, 501) carry them as well.
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format, *args):
        logger.info("%s %s", self.address_string(), format % args)
