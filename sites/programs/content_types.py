"""The Content-Type of a site's file by its name: one table for the local origin and the
aws objects, so a site is served alike on both. No Django, no system mime.types (which
differ between machines)."""
import mimetypes

TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css",
    ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
    ".map": "application/json", ".webmanifest": "application/manifest+json",
    ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv",
    ".xml": "application/xml", ".rss": "application/rss+xml",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".avif": "image/avif", ".ico": "image/x-icon", ".woff": "font/woff",
    ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".wasm": "application/wasm", ".pdf": "application/pdf", ".mp4": "video/mp4",
    ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
    ".zip": "application/zip",
}
# Text a browser decodes: served as UTF-8 (what the archive names and pages are).
TEXT = ("text/", "application/json", "application/manifest+json", "application/xml",
        "application/rss+xml", "image/svg+xml")
# Worth compressing on the way out (images, fonts and media are compressed already).
COMPRESSIBLE = (*TEXT, "application/wasm")


def content_type(name: str) -> str:
    """The header value for a file called `name`, with a charset for text."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(TEXT) else kind


def compressible(kind: str) -> bool:
    return kind.startswith(COMPRESSIBLE)
