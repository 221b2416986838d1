"""Tiny, strict readers of settings from the environment (no Django imports)."""
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse


def envbool(name, default="False"):
    value = os.environ.get(name, default)
    if value not in ("True", "False"):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return value == "True"


def envint(name, default):
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def envsecret(name, *, keep_in=None, required=False):
    """A secret from NAME or from the file named by NAME_FILE.

    Without either: in production (required=True) refuse to start; in development
    generate one and keep it in `keep_in`, so restarts keep sessions and stacks readable.
    """
    if os.environ.get(name):
        return os.environ[name]
    if os.environ.get(f"{name}_FILE"):
        return Path(os.environ[f"{name}_FILE"]).read_text().strip()
    if required or keep_in is None:
        raise ValueError(f"{name} (or {name}_FILE) must be set")
    keep_in = Path(keep_in)
    if not keep_in.exists():
        keep_in.parent.mkdir(parents=True, exist_ok=True)
        keep_in.write_text(secrets.token_urlsafe(48))
        keep_in.chmod(0o600)
    return keep_in.read_text().strip()


def _sqlite(path):
    # IMMEDIATE: a transaction takes the write lock when it begins, so two requests can
    # never both count (a quota) and then both insert.
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": path,
            "OPTIONS": {"transaction_mode": "IMMEDIATE"}}


def database_from_url(url, *, sqlite_default):
    """Django DATABASES['default'] from a DATABASE_URL (postgres:// or sqlite:///)."""
    if not url:
        return _sqlite(str(sqlite_default))
    parts = urlparse(url)
    if parts.scheme == "sqlite":
        return _sqlite(unquote(parts.path))
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
    }


def physical_memory_mb():
    """This machine's memory in MB (0 where /proc/meminfo cannot be read)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0
