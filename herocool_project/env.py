"""Tiny, strict readers of settings from the environment (no Django imports)."""
import os
import secrets
from pathlib import Path
from urllib.parse import quote, unquote, urlparse


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
    return kept_secret(keep_in)


def kept_secret(path):
    """The secret kept in `path`, generated (0600 from its first byte) when missing."""
    path = Path(path)
    if not path.exists():
        private_dir(path.parent)
        write_private_once(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def private_dir(path):
    """Make `path` (and missing parents) a directory only its owner can enter."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
        path.chmod(0o700)  # made before Herocool kept its files private
    return path


def write_private_once(path, text):
    """Create `path` with `text`, mode 0600 from the start; if another process got there
    first, keep its file. Written aside, then linked into place: no reader ever sees a
    partly written file, and a second writer never replaces the first one's secret."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def redis_url(data_dir):
    """REDIS_URL as given, else the Redis `make run` starts: loopback, with the password
    from REDIS_PASSWORD / REDIS_PASSWORD_FILE or the one generated into the data dir."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    port = envint("HEROCOOL_REDIS_PORT", 6379)
    password = redis_password(data_dir)
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"


def redis_password(data_dir):
    return envsecret("REDIS_PASSWORD", keep_in=Path(data_dir) / "redis_password")


def write_redis_config(data_dir):
    """The config of the Redis `make run` starts (the password is in it, never on a
    command line, which every local account can read with `ps`); returns its path."""
    redis_dir = private_dir(Path(data_dir) / "redis")
    port = envint("HEROCOOL_REDIS_PORT", 6379)
    password = redis_password(data_dir).replace("\\", "\\\\").replace('"', '\\"')
    text = (f"port {port}\nbind 127.0.0.1\nprotected-mode yes\n"
            f'requirepass "{password}"\n'
            f'dir "{redis_dir}"\nsave 60 1\nappendonly yes\n')
    conf = redis_dir / "redis.conf"
    fd = os.open(conf.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(conf.with_suffix(".tmp"), conf)
    return conf


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


if __name__ == "__main__":  # scripts/run.sh: python -m herocool_project.env redis-config DIR
    import sys

    if sys.argv[1:2] != ["redis-config"] or len(sys.argv) != 3:
        sys.exit("usage: python -m herocool_project.env redis-config DATA_DIR")
    os.umask(0o077)
    print(write_redis_config(sys.argv[2]))
