"""Work directories of the engine's CLI processes, and their removal after a killed job.

A Pulumi workspace needs a directory (its Pulumi.yaml names the state backend: host, user
and database; the password goes to the CLI in PGPASSWORD, never into a file). A job
removes its own when it ends; a job that is killed (a cancel stops the work horse with
SIGKILL, as does an operator or the OOM killer) cannot, and a temporary directory would
stay in /tmp for ever.

So each one is made under WORK_DIR (in the private data directory) and holds an
exclusive flock on a file inside it while in use. The kernel drops the lock when its
process dies, however it dies, so a directory whose lock can be taken belongs to no live
process: the host tick (stacks/hosts.py) removes those. No pid is read, so no reused pid
can keep a leftover or lose a live one.
"""
import fcntl
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)
LOCK = ".held"
# Between mkdtemp and the flock a directory is unlocked for an instant: one changed less
# than this ago is never taken for a leftover.
GRACE_SECONDS = 60
# Versions before this one made them in the temporary directory, unlocked: those this
# account owns are removed once a day old (no job runs that long).
OLD_PREFIX, OLD_AGE_SECONDS = "herocool-ws-", 24 * 3600


def root() -> Path:
    path = Path(settings.WORK_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextmanager
def held(prefix="ws-"):
    """A new private directory, locked as in use until the block ends, then removed."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root()))
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def reap(*, grace=GRACE_SECONDS, now=None) -> list:
    """Remove the work directories no live process holds; returns their names."""
    reaped = []
    for path in sorted(root().iterdir()):
        if path.is_dir() and not path.is_symlink() and _abandoned(path, grace, now):
            shutil.rmtree(path, ignore_errors=True)
            reaped.append(path.name)
    if reaped:
        log.info("removed %d work directories left by killed jobs: %s", len(reaped),
                 ", ".join(reaped))
    return reaped


def reap_old(*, now=None) -> list:
    """Remove what older versions left in the temporary directory: `herocool-ws-*`
    directories of this account's, a day old. Returns their names."""
    reaped = []
    for path in Path(tempfile.gettempdir()).glob(f"{OLD_PREFIX}*"):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if (path.is_dir() and not path.is_symlink() and info.st_uid == os.geteuid()
                and (now or time.time()) - info.st_mtime > OLD_AGE_SECONDS):
            shutil.rmtree(path, ignore_errors=True)
            reaped.append(path.name)
    if reaped:
        log.info("removed %d work directories an older version left in %s", len(reaped),
                 tempfile.gettempdir())
    return reaped


def _abandoned(path, grace, now):
    """Untouched for `grace` seconds and its lock free (or never made)."""
    try:
        if (now or time.time()) - path.stat().st_mtime <= grace:
            return False  # young: perhaps made, not yet locked
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:  # removed meanwhile by its own job, or never locked
        return path.exists()
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live process holds it
    finally:
        os.close(fd)  # (closing drops the lock just taken, if taken)
    return True
