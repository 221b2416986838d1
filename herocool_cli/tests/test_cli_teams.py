"""`--team` in the CLI (issue #18's loose end), through the real API on a live server:
create a site or machine for a team, list one team's (or only one's own), and say which
of two same-named ones a command means."""
import json

import pytest

from accounts.models import Membership, Team
from herocool_cli import cli, config
from sites.models import Site
from stacks.models import Status
from stacks.tests.apiclient import token_for
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db(transaction=True)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b"


@pytest.fixture
def ops(home, live_server, alice, bob, queue, settings):
    """alice is admin of ops (logged in to the CLI); bob only a viewer of it."""
    settings.RATE_LIMIT_CHANGES = "1000/60"
    team = Team.start("ops", alice)
    Membership.objects.create(team=team, user=bob, role="viewer")
    config.save(live_server.url, token_for(alice, "deploy", "machines"))
    return team


def names_listed(capsys, *argv):
    capsys.readouterr()
    assert cli.main([*argv, "--json"]) == 0
    return sorted(row["name"] for row in json.loads(capsys.readouterr().out))


def test_sites_and_machines_are_created_for_a_team(ops, alice, home):
    page, key = home / "index.html", home / "key.pub"
    page.write_text("<p>team page</p>")
    key.write_text(KEY)
    assert cli.main(["sites", "create", "blog", str(page), "--team", "ops",
                     "--no-wait"]) == 0
    assert cli.main(["vms", "create", "box", "--team", "ops", "--key", str(key),
                     "--allow", "203.0.113.7/32", "--no-wait"]) == 0
    site, vm = Site.objects.get(), VirtualMachine.objects.get()
    assert (site.team, site.owner, vm.team, vm.owner) == (ops, alice, ops, alice)
    assert site.deployments.get().team == ops
    site.deployments.update(status="succeeded")
    Site.objects.filter(pk=site.pk).update(status=Status.LIVE)
    assert cli.main(["sites", "deploy", "blog", str(page), "--team", "ops",
                     "--no-wait"]) == 0  # the team's blog: updated, none made
    assert Site.objects.get() == site
    assert sorted(site.deployments.values_list("action", flat=True)) == ["create", "update"]


def test_a_team_the_user_may_not_deploy_to_is_an_error_not_a_personal_create(
        ops, bob, home, live_server, capsys):
    config.save(live_server.url, token_for(bob, "deploy"))
    (home / "index.html").write_text("<p>x</p>")
    assert cli.main(["sites", "create", "blog", str(home / "index.html"), "--team", "ops",
                     "--no-wait"]) == 1
    assert "team:" in capsys.readouterr().err
    assert not Site.objects.exists()


def test_lists_filter_by_team_or_only_ones_own(ops, alice, capsys):
    for name, team in (("shared", ops), ("mine", None)):
        Site.objects.create(owner=alice, team=team, name=name, content="x",
                            status=Status.LIVE)
        VirtualMachine.objects.create(owner=alice, team=team, name=name,
                                      instance_type="t3.micro", ssh_public_key=KEY,
                                      allowed_cidr="203.0.113.7/32", status=Status.LIVE)
    for kind in ("sites", "vms"):
        assert names_listed(capsys, kind, "list") == ["mine", "shared"]
        assert names_listed(capsys, kind, "list", "--team", "ops") == ["shared"]
        assert names_listed(capsys, kind, "list", "--team", "me") == ["mine"]


def test_team_says_which_of_two_same_named_sites_is_meant(ops, alice, capsys):
    theirs = Site.objects.create(owner=alice, team=ops, name="blog", content="x",
                                 status=Status.LIVE)
    mine = Site.objects.create(owner=alice, name="blog", content="x", status=Status.LIVE)
    assert cli.main(["sites", "show", "blog"]) == 1
    assert "say which with --team SLUG (or --team me)" in capsys.readouterr().err
    assert cli.main(["sites", "show", "blog", "--team", "ops", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["code"] == str(theirs.code)
    assert cli.main(["sites", "delete", "blog", "--team", "me", "--no-wait"]) == 0
    assert mine.deployments.get().action == "destroy"
    assert not theirs.deployments.exists()
    assert cli.main(["sites", "show", "blog", "--team", "dev"]) == 1
    assert "You have no site in the team dev named blog." in capsys.readouterr().err
