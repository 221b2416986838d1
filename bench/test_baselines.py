"""The benchmark's bare-CLI comparison (issue #13) is never skipped without saying so.

Both run in processes of their own, as the benchmark does (bench.common installs the
benchmark's loopback guard for the life of its process)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from stacks import engine

MIRROR = Path(os.environ.get("HEROCOOL_PULUMI_SOURCE", "/work/.mirror/pulumi+pulumi/repo"))

BARE_CLI = """
import json, sys
from pathlib import Path
sys.path.insert(0, ".")
import bench.common  # noqa: F401  (sets up Django)
from bench.baselines import bare_cli, bare_cli_update, find_language_host
host = find_language_host()
assert host is not None, "no language host found or built"
run_dir = Path(sys.argv[1])  # the test's own tmp_path: nothing left behind
created = bare_cli(run_dir, host)(0)
updated = bare_cli_update(run_dir, host)(0)
live = run_dir / "cli-sites" / "site-cli-000" / "live" / "index.html"
print(json.dumps({"host": str(host), "created": created, "updated": updated,
                  "page": live.read_text()}))
"""


def _env(platform_env, **more):
    env = {**platform_env, **more}
    env.pop("HEROCOOL_SETUP_TEST", None)  # the test command's setup skips the host
    return env


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_bare_cli_deploys_and_updates_the_program_through_the_language_host(
        platform_env, tmp_path):
    """Found beside the CLI, or built there by scripts/setup_pulumi.sh from the mirror;
    then a plain `pulumi stack init` + `up`, and an `up` with a changed page, really run."""
    cli_dir = Path(engine.cli_root()) / "bin"
    if not (cli_dir / "pulumi-language-python").exists() and not MIRROR.is_dir():
        pytest.skip(f"no language host at {cli_dir} and no pulumi/pulumi mirror at {MIRROR} "
                    "to build one from (fetch github:pulumi/pulumi)")
    done = subprocess.run([sys.executable, "-c", BARE_CLI, str(tmp_path)],
                          cwd=settings.BASE_DIR, env=_env(platform_env), capture_output=True,
                          text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert Path(result["host"]) == cli_dir
    assert result["created"]["init_s"] > 0 and result["created"]["up_s"] > 0
    assert "<p>v0</p>" in result["page"]  # the update's page, not the create's


@pytest.mark.django_db(transaction=True)
def test_a_run_without_a_language_host_stops_at_the_start_and_says_how(platform_env, tmp_path):
    """A Pulumi root with the CLI and no language host (and building one turned off): the
    deployments phase refuses to start rather than leave the comparison out."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pulumi").symlink_to(Path(engine.cli_root()) / "bin" / "pulumi")
    env = _env(platform_env, HEROCOOL_PULUMI_ROOT=str(tmp_path), HEROCOOL_SKIP_LANGUAGE_HOST="1",
               PATH="/usr/bin:/bin")
    done = subprocess.run([sys.executable, "bench/run.py", "--phases", "deployments",
                           "--output", str(tmp_path / "out.md")],
                          cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert "no `pulumi-language-python`" in done.stderr
    assert "--without-bare-cli" in done.stderr and "pulumi/pulumi" in done.stderr
    assert not (tmp_path / "out.md").exists()
