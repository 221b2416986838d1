"""A guest's serial console, kept in its directory: console.log (this boot) and
console.log.1 (what came before), each at most MAX_BYTES.

QEMU appends to console.log (O_APPEND), so the platform may empty it under a running
guest: QEMU's next write lands at the new end, never past a hole. The text is the
guest's own, so whoever shows it must escape it.
"""
import os
from pathlib import Path

from .files import private_opener, write_private

CONSOLE = "console.log"
PREVIOUS = "console.log.1"
MAX_BYTES = 256 * 1024


def new_boot(vm) -> None:
    """Before QEMU starts: the last boot's output becomes the previous file, and an
    empty console.log is made here, 0600 (QEMU opens it after daemonising, under its
    own umask)."""
    vm = Path(vm)
    current = vm / CONSOLE
    if current.exists() and current.stat().st_size:
        os.replace(current, vm / PREVIOUS)
    write_private(current, "")


def cap(vm, max_bytes=None) -> bool:
    """Rotate console.log when it has grown past max_bytes (MAX_BYTES): its last
    max_bytes go to the previous file, and it starts again empty. True when it rotated.
    A line QEMU appends between the copy and the truncation is lost: rare, and only
    console text."""
    max_bytes = max_bytes or MAX_BYTES
    vm = Path(vm)
    current = vm / CONSOLE
    try:
        size = current.stat().st_size
    except FileNotFoundError:
        return False
    if size <= max_bytes:
        return False
    with open(current, "rb") as f:
        f.seek(size - max_bytes)
        tail = f.read(max_bytes)
    tmp = vm / f".{PREVIOUS}.{os.getpid()}.tmp"
    with open(tmp, "wb", opener=private_opener) as f:
        f.write(tail)
    os.replace(tmp, vm / PREVIOUS)
    os.truncate(current, 0)
    return True


def tail(vm, max_bytes=32 * 1024) -> str:
    """The console's last max_bytes (across the rotation), as text."""
    vm = Path(vm)
    data = b""
    for name in (CONSOLE, PREVIOUS):
        if len(data) >= max_bytes:
            break
        try:
            with open(vm / name, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - (max_bytes - len(data))))
                data = f.read() + data
        except FileNotFoundError:
            continue
    return data[-max_bytes:].decode("utf-8", errors="replace")
