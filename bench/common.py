"""What the phases share: the loopback guard and Django set up on import, the test
page, timing and percentiles, child processes, machine facts and progress lines.

Import it before anything that needs Django's models.
"""
import logging
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
BENCH = BASE / "bench"

from bench import guard  # noqa: E402

guard.install()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")

import django  # noqa: E402

django.setup()

# Progress goes to stderr through log(); the app's own console logging (job lines, rq's
# worker chatter) is kept to warnings. Deployment logs still get every line.
for _handler in logging.getLogger().handlers:
    _handler.setLevel(logging.WARNING)
logging.getLogger("rq").setLevel(logging.WARNING)

PYTHON = str(BASE / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable

# A typical small landing page (about 8 KB of HTML), as users paste it.
PAGE_HTML = ("<!doctype html><html><head><title>My site</title></head><body>"
             + ("<section><h2>About us</h2><p>" + "Lorem ipsum dolor sit amet. " * 12
                + "</p></section>") * 20 + "</body></html>")
assert 7000 < len(PAGE_HTML) < 9000


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- timing and statistics ----------------------------------------------------------

def pct(values, p):
    """The p-th percentile (0-100), linear between the closest ranks."""
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(seconds):
    return seconds * 1000


def spread(seconds):
    """p50, p95 and max in milliseconds, and the number of samples."""
    return {"p50": ms(pct(seconds, 50)), "p95": ms(pct(seconds, 95)),
            "max": ms(max(seconds)), "samples": len(seconds)}


def timings(fn, repeat):
    """Seconds taken by each of `repeat` calls of fn()."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def fmt(value, digits=1):
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return f"{value:,.{digits}f}"


def wait_until(predicate, timeout, interval=0.01, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


# --- child processes ----------------------------------------------------------------

def child_env(**extra):
    env = {**os.environ, "PYTHONPATH": str(BASE), **extra}
    env.pop("DJANGO_DEBUG_TOOLBAR", None)
    return env


def spawn_guarded(args, log_path, env=None):
    """Run a Python script under bench/guard.py in a session of its own, its output
    appended to log_path."""
    with open(log_path, "ab") as out:
        return subprocess.Popen([PYTHON, str(BENCH / "guard.py"), *args], cwd=BASE,
                                env=env or child_env(), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc, timeout=20):
    """Stop a process this benchmark started (its own session), by its id."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the machine ---------------------------------------------------------------------

def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def loadavg():
    return " ".join(_read("/proc/loadavg").split()[:3]) or "?"


def settle(limit_s=180, poll_s=5):
    """Wait, at most limit_s, until the 1-minute load average is at most half the CPUs:
    what the previous phase left running (its workers, its server, autovacuum after a
    bulk insert) should not be timed as this phase's. Returns a note for the report."""
    target = (os.cpu_count() or 1) / 2
    t0 = time.monotonic()
    while True:
        one = float(_read("/proc/loadavg").split()[0] or 0)
        waited = time.monotonic() - t0
        if one <= target or waited >= limit_s:
            note = f"{one:.2f} after {waited:.0f} s"
            return note + ("" if one <= target else f" (still above {target:g}: waited the most)")
        time.sleep(poll_s)


def pulumi_cli():
    from stacks import engine

    return Path(engine.cli_root()) / "bin" / "pulumi"


def machine():
    model = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    pulumi_version = subprocess.run(
        [str(pulumi_cli()), "version"], capture_output=True, text=True,
        env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "memory_gib": int(mem.group(1)) / 2**20 if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": os.environ.get("HEROCOOL_BENCH_PG_VERSION", "?"),
        "redis": os.environ.get("HEROCOOL_BENCH_REDIS_VERSION", "?").split(" sha=")[0],
        "pulumi": pulumi_version,
        "loadavg_start": loadavg(),
    }
