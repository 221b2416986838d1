"""Loopback only: refuse, in this Python process, any connection to an address other
than 127.0.0.0/8, ::1 or a Unix socket (an audit hook on socket.connect).

    import guard; guard.install()            # in a benchmark process
    python bench/guard.py manage.py rqworker  # run a script under the guard
"""
import ipaddress
import runpy
import socket
import sys


class NotLoopback(OSError):
    pass


def _check(event, args):
    if event not in ("socket.connect", "socket.sendto") or len(args) < 2:
        return
    sock, address = args[0], args[-1]
    if getattr(sock, "family", None) == socket.AF_UNIX or not isinstance(address, tuple):
        return
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        raise NotLoopback(f"benchmark: refusing to connect to {address[0]!r}") from None
    if not ip.is_loopback:
        raise NotLoopback(f"benchmark: refusing to connect to {address[0]} (not loopback)")


_installed = False


def install():
    global _installed
    if not _installed:
        sys.addaudithook(_check)
        _installed = True


if __name__ == "__main__":
    install()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, str(__import__("pathlib").Path(script).resolve().parent))
    runpy.run_path(script, run_name="__main__")
