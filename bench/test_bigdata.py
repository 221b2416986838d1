"""The big data set's builder, at a small size, beside rows that were there before.

It runs in a process of its own, as the benchmark does: bench.common installs the
benchmark's loopback guard (an audit hook for the life of the process) and quiets
logging, which this test process must not inherit."""
import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from sites.models import Site
from stacks.models import Deployment, DeploymentLogChunk, Status
from stacks.tests.test_query_counts import add_resources
from vms.models import VirtualMachine

BUILD = """
import json, sys
sys.path.insert(0, ".")
import bench.common  # noqa: F401  (sets up Django)
from bench.bigdata import build_big_dataset
users, counts = build_big_dataset(resources=200, deployments=2000, fillers=10)
print(json.dumps(counts))
"""


@pytest.mark.django_db(transaction=True)  # rows the builder's process can see
def test_it_builds_the_asked_sizes_beside_existing_rows(alice, platform_env):
    add_resources(alice, 3)  # 6 resources, 6 deployments, no logs
    done = subprocess.run([sys.executable, "-c", BUILD], cwd=settings.BASE_DIR,
                          env=platform_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.splitlines()[-1])

    big = get_user_model().objects.get(username="bench-big")
    assert (counts["sites"], counts["vms"]) == (103, 103)
    assert counts["deployments"] == 2006  # ten for each new resource, none for alice's
    assert DeploymentLogChunk.objects.count() == counts["log_chunks"] > 0
    assert Site.objects.filter(owner=big).count() == 10
    assert VirtualMachine.objects.filter(owner__username="bench-small").count() == 10
    assert Deployment.objects.filter(owner=big).count() == 200
    assert Site.objects.filter(status=Status.DELETED).exists()
    # Pairs of rows share a time, so pages by key must break ties.
    assert Site.objects.values("created").distinct().count() < 103
