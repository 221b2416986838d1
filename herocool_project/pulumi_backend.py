"""Where Pulumi keeps its state: the backend URL, and how to show it (no Django imports).

With PostgreSQL as the platform's database the state, history and locks of every stack
go to the Pulumi CLI's own postgres:// backend (pkg/backend/diy/postgres), one table in
the same server, so that every worker machine shares them and backups include them.
The URL carries a password: show it only through `masked()`.
"""
import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# The CLI puts the table name into its SQL unquoted (and names an index after it).
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")


def backend_url(environ, *, table, file_dir):
    """PULUMI_BACKEND_URL as given; else postgres:// beside a PostgreSQL DATABASE_URL (or
    in HEROCOOL_PULUMI_DATABASE_URL, a role of its own); else file:// in `file_dir`."""
    if environ.get("PULUMI_BACKEND_URL"):
        return environ["PULUMI_BACKEND_URL"]
    database = environ.get("HEROCOOL_PULUMI_DATABASE_URL") or environ.get("DATABASE_URL", "")
    if urlsplit(database).scheme in ("postgres", "postgresql"):
        return postgres_url(database, table=table)
    return file_dir.as_uri()


def postgres_url(database_url, *, table):
    """The CLI's URL for a PostgreSQL database URL: its own table, and SSL when the
    server offers it (the CLI's driver requires SSL unless told; libpq prefers it)."""
    if not TABLE_NAME.match(table):
        raise ValueError(f"HEROCOOL_PULUMI_TABLE must be a lower-case SQL name of at most "
                         f"40 characters, not {table!r}")
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("sslmode", "prefer")
    query["table"] = table
    return urlunsplit(("postgres", parts.netloc, parts.path, urlencode(query), ""))


def django_postgres_url(db, *, table):
    """postgres:// URL of a Django DATABASES entry (for tests and tools)."""
    credentials = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    extra = {}
    if host.startswith("/"):  # a Unix socket directory
        host, extra = "", {"host": host}
    port = f":{db['PORT']}" if db.get("PORT") else ""
    url = f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"
    return postgres_url(url + ("?" + urlencode(extra) if extra else ""), table=table)


def without_password(url):
    """(the URL with no password in it, the password or None): the password goes to the
    CLI in PGPASSWORD, so no message or file the CLI writes can carry it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    netloc = parts.netloc.rsplit("@", 1)
    user = quote(unquote(parts.username or ""), safe="")
    return (urlunsplit((parts.scheme, f"{user}@{netloc[1]}", parts.path, parts.query,
                        parts.fragment)), unquote(parts.password))


def masked(url):
    """The URL as shown to people: the password, if any, replaced by ****."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    name = user.split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{name}:****@{host}", parts.path, parts.query,
                       parts.fragment))


def kind(url):
    """The backend's kind, as a word: file, postgres, s3, ..."""
    return urlsplit(url).scheme or "file"


def lock_folder(project, stack_name):
    """Where the CLI's self-managed backends keep a stack's lock files (one per CLI
    process that holds it: pkg/backend/diy/lock.go), relative to the backend's root."""
    return f".pulumi/locks/organization/{project}/{stack_name}/"


def remove_stack_locks(url, project, stack_name):
    """Delete one stack's lock files from a file:// or postgres:// backend; returns how
    many were removed, or None for a backend of another kind. Only for a stack the CLI
    does not know (its `cancel` needs the stack) and whose job is gone."""
    folder = lock_folder(project, stack_name)
    scheme = kind(url)
    if scheme == "file":
        found = Path(unquote(urlsplit(url).path)) / folder
        locks = [p for p in found.glob("*") if p.is_file() and not p.is_symlink()]
        for path in locks:  # the locks and the blob library's .attrs beside them
            path.unlink(missing_ok=True)
        return sum(path.suffix == ".json" for path in locks)
    if scheme != "postgres":
        return None
    import psycopg

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    table = query.pop("table", "")
    if not TABLE_NAME.match(table):
        raise ValueError(f"not a table name: {table!r}")
    like = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))
    with psycopg.connect(conninfo, autocommit=True) as connection:
        # The keys start with the database path the CLI was given (`db/.pulumi/...`).
        deleted = connection.execute(
            f"DELETE FROM {table} WHERE key LIKE %s OR key LIKE %s",  # noqa: S608 - checked
            [like + "%", "%/" + like + "%"])
        return deleted.rowcount
