"""Benchmark (issue #15): a 1,000-file, 20 MB site uploaded as a .zip, deployed, released
again with one file changed, and rolled back, through the real Pulumi engine and a real
(non-forking) RQ worker on a private PostgreSQL and Redis.

    python bench/sites_release.py        # runs itself under scripts/test.sh, prints figures

Each figure is the wall time from the POST to the site serving the new content: the web
request (which checks the archive whole) plus the job (unpack on the host, `pulumi up`,
the release recorded). The rollback stages nothing: the release's folder is still on the
host, so it is a `pulumi up` that switches the live symlink.
"""
import http.client
import io
import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
FILES = 1000
TOTAL_BYTES = 20 * 1024 * 1024
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def site_zip(version):
    """FILES files of TOTAL_BYTES in all: half text (compresses about 4:1), half random
    bytes standing for images (does not compress), in nested folders."""
    rng = random.Random(7)
    words = [f"word{i}" for i in range(2000)]
    each = TOTAL_BYTES // FILES
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("site/index.html", f"<h1>release {version}</h1>")
        for i in range(FILES - 1):
            folder = f"site/section-{i % 20}/part-{i % 7}"
            if i % 2:
                archive.writestr(f"{folder}/img-{i}.png", rng.randbytes(each))
            else:
                text = " ".join(rng.choice(words) for _ in range(each // 6))
                archive.writestr(f"{folder}/page-{i}.html", text[:each])
    return out.getvalue()


def served(port, site):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/", headers={"Host": f"{site.host_label}.localhost"})
    body = conn.getresponse().read().decode()
    conn.close()
    return body


def timed_post(client, url, data, run_jobs):
    """(seconds in the web request, seconds in the job)."""
    start = time.perf_counter()
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-1500:]
    web = time.perf_counter() - start
    start = time.perf_counter()
    assert run_jobs() == 1
    return web, time.perf_counter() - start


def test_bench_sites_release(alice_client, origin, run_jobs, settings, capsys):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from sites.models import Site

    if not os.environ.get("HEROCOOL_BENCH"):
        pytest.skip("a benchmark: python bench/sites_release.py")
    first, second = site_zip(1), site_zip(2)
    rows = []
    for n in range(ROUNDS):
        upload = SimpleUploadedFile("site.zip", first, "application/zip")
        create = timed_post(alice_client, reverse("sites-create"),
                            {"name": f"bench-{n}", "source": "archive", "folder": upload},
                            run_jobs)
        site = Site.objects.get(name=f"bench-{n}")
        assert served(origin, site) == "<h1>release 1</h1>", site.last_error
        upload = SimpleUploadedFile("site.zip", second, "application/zip")
        update = timed_post(alice_client, reverse("sites-update", args=[site.code]),
                            {"source": "archive", "folder": upload}, run_jobs)
        assert served(origin, site) == "<h1>release 2</h1>"
        rollback = timed_post(alice_client, reverse("sites-rollback", args=[site.code]),
                              {"release": 1}, run_jobs)
        assert served(origin, site) == "<h1>release 1</h1>"
        rows.append((create, update, rollback))
    with capsys.disabled():
        print(f"\nsite: {FILES} files, {TOTAL_BYTES / 2**20:.0f} MB unpacked, "
              f"{len(first) / 2**20:.1f} MB zipped; {ROUNDS} rounds (web request + job, s)")
        for name, i in (("deploy (create)", 0), ("second release", 1), ("rollback", 2)):
            totals = sorted(r[i][0] + r[i][1] for r in rows)
            webs = [r[i][0] for r in rows]
            print(f"  {name:16} median {totals[len(totals) // 2]:6.2f}   "
                  f"min {totals[0]:6.2f}   max {totals[-1]:6.2f}   "
                  f"(web request {min(webs):.2f}-{max(webs):.2f})")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    sys.exit(subprocess.call(
        ["bash", "scripts/test.sh", "-p", "no:cacheprovider", "-q",
         "--override-ini=addopts=", "--rootdir", str(root),
         "--confcutdir", str(root), "-p", "conftest", str(Path(__file__).resolve())],
        cwd=root, env={**os.environ, "HEROCOOL_BENCH": "1"}))
