"""The `herocool` CLI end to end: a live server, a real worker process and the real
engine. Deploy a file and a whole folder (a release), list releases and roll back, follow
the log, update, delete; the exit status of a failed and of a cancelled deployment."""
import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import wait_for
from sites.models import Site
from stacks.models import Deployment
from stacks.tests.apiclient import token_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def herocool(live_server, alice, settings, tmp_path):
    """Run the CLI as a user would (`python -m herocool_cli`), logged in as alice."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PYTHONPATH": str(settings.BASE_DIR)}
    env.pop("HEROCOOL_URL", None), env.pop("HEROCOOL_TOKEN", None)

    def run(*args, background=False):
        argv = [sys.executable, "-m", "herocool_cli", *args]
        if background:
            return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)

    done = run("login", "--url", live_server.url, "--token", token_for(alice, "deploy"))
    assert done.returncode == 0, done.stderr
    return run


@pytest.fixture
def page(tmp_path):
    def write(html, name="page.html"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html)
        return str(path)
    return write


def test_login_keeps_the_token_readable_by_its_owner_only(herocool, tmp_path):
    config = tmp_path / "config" / "herocool" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert json.loads(config.read_text())["token"].startswith("hc_")


def test_login_with_a_bad_token_says_so_and_keeps_nothing(live_server, herocool, tmp_path):
    done = herocool("login", "--url", live_server.url, "--token", "hc_bad_bad")
    assert done.returncode == 1
    assert "The token is invalid, expired or revoked." in done.stderr
    config = json.loads((tmp_path / "config" / "herocool" / "config.json").read_text())
    assert config["token"] != "hc_bad_bad"


def test_deploy_follow_update_delete(herocool, processes, page, fetch, tmp_path):
    processes("manage.py", "rqworker", "default", "maintenance")
    done = herocool("sites", "deploy", "cli-site", page("<p>first</p>"))
    assert done.returncode == 0, done.stderr
    site = Site.objects.get(name="cli-site")
    create = site.deployments.get()
    assert f"Deployment {create.code} (create of cli-site) succeeded." in done.stdout
    assert create.full_log() in done.stdout  # the whole log, followed to its end
    assert fetch(site.outputs["website_url"]) == "<p>first</p>"

    folder = tmp_path / "public"
    page("<p>from the folder</p>", name="public/index.html")
    page("p { color: red }", name="public/css/site.css")
    done = herocool("sites", "deploy", "cli-site", str(folder))
    assert done.returncode == 0, done.stderr
    assert fetch(site.outputs["website_url"]) == "<p>from the folder</p>"
    assert fetch(site.outputs["website_url"] + "css/site.css") == "p { color: red }"

    releases = json.loads(herocool("sites", "releases", "cli-site", "--json").stdout)
    assert [(r["number"], r["live"], r["source"], r["file_count"]) for r in releases] == \
        [(2, True, "archive", 2), (1, False, "html", 1)]
    done = herocool("sites", "rollback", "cli-site", "1")
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    assert fetch(site.outputs["website_url"]) == "<p>first</p>"
    assert herocool("sites", "rollback", "cli-site", "9").returncode == 1  # no such release

    listed = herocool("sites", "list", "--json")
    assert [(s["name"], s["status"]) for s in json.loads(listed.stdout)] == \
        [("cli-site", "live")]
    update = site.deployments.first()
    done = herocool("deployments", "log", str(update.code), "--follow")
    assert done.returncode == 0 and update.full_log() == done.stdout

    done = herocool("sites", "delete", "cli-site", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "succeeded"
    assert Site.objects.get(pk=site.pk).status == "deleted"
    assert herocool("sites", "list").stdout.strip() == "No sites yet."


def test_a_failed_deployment_exits_3_with_its_error(herocool, processes, page, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    processes("manage.py", "rqworker", "default", "maintenance",
              HEROCOOL_SITES_ROOT=str(blocker))
    done = herocool("sites", "create", "broken", page("<p>x</p>"))
    assert done.returncode == 3, (done.stdout, done.stderr)
    dep = Deployment.objects.get()
    assert f"Deployment {dep.code} (create of broken) failed." in done.stdout
    assert herocool("deployments", "show", str(dep.code)).returncode == 3


def test_a_cancelled_deployment_exits_4(herocool, slow_worker, page):
    """The program pauses for a minute (stacks/tests/slow_worker.py): time to cancel."""
    following = herocool("sites", "deploy", "slow", page("<p>x</p>"), background=True)
    running = wait_for(lambda: Deployment.objects.filter(status="running").first(),
                       timeout=90)
    done = herocool("deployments", "cancel", str(running.code))
    assert done.returncode == 0
    assert done.stdout.strip() == "Cancelling: the job is being stopped; the stack is " \
                                  "released once it has."
    out, err = following.communicate(timeout=120)
    assert following.returncode == 4, (out, err)
    assert f"Deployment {running.code} (create of slow) cancelled." in out


def test_clear_errors_for_what_the_platform_refuses(herocool, page):
    done = herocool("sites", "create", "Bad Name", page(" "))
    assert done.returncode == 1
    assert "name: Use 1 to 63 lowercase letters" in done.stderr
    assert "html: Paste the HTML of your page." in done.stderr
    done = herocool("sites", "delete", "nothing-here")
    assert done.returncode == 1 and "You have no site named nothing-here." in done.stderr
    done = herocool("vms", "create", "box", "--allow", "203.0.113.7/32", "--key", "/nope")
    assert done.returncode == 1 and "Cannot read the SSH public key /nope" in done.stderr
