"""Operator commands choose resources by owner as quotas count them (issue #18's loose
end): --team SLUG selects a team's resources, --user a user's personal ones (not those
they created for a team), and destroying a user's resources leaves their teams' alone."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Membership, Team
from sites.models import Site
from stacks.management.selection import select_resources
from stacks.models import Deployment, Status
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b"


@pytest.fixture
def things(alice, bob):
    """alice's personal site; ops's site (by alice) and machine (by bob); bob's site."""
    ops = Team.start("ops", alice)
    Membership.objects.create(team=ops, user=bob, role="deployer")
    return {
        "mine": Site.objects.create(owner=alice, name="mine", status=Status.LIVE),
        "shared": Site.objects.create(owner=alice, team=ops, name="shared",
                                      status=Status.LIVE),
        "box": VirtualMachine.objects.create(owner=bob, team=ops, name="box",
                                             instance_type="t3.micro", ssh_public_key=KEY,
                                             allowed_cidr="203.0.113.7/32",
                                             status=Status.LIVE),
        "bobs": Site.objects.create(owner=bob, name="bobs", status=Status.LIVE),
        "gone": Site.objects.create(owner=bob, team=ops, name="gone", status=Status.DELETED),
    }


def names(resources):
    return sorted(r.name for r in resources)


def test_team_selects_the_teams_resources_whoever_made_them(things):
    assert names(select_resources({"team": "ops"})) == ["box", "shared"]
    assert names(select_resources({"team": "ops"}, include_deleted=True)) == [
        "box", "gone", "shared"]


def test_user_selects_only_the_users_personal_resources(things):
    assert names(select_resources({"user": "alice"})) == ["mine"]
    assert names(select_resources({"user": "bob"})) == ["bobs"]
    assert names(select_resources({})) == ["bobs", "box", "mine", "shared"]


def test_team_and_resource_narrow_together_and_unknown_teams_are_errors(things):
    code = str(things["shared"].code)
    assert names(select_resources({"team": "ops", "resource": code})) == ["shared"]
    with pytest.raises(CommandError, match="No resource"):
        select_resources({"team": "ops", "resource": str(things["mine"].code)})
    with pytest.raises(CommandError, match="No team 'dev' \\(give its slug\\)"):
        select_resources({"team": "dev"})


def test_a_command_takes_team_or_user_but_not_both(things):
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("sync_stacks", "--user", "alice", "--team", "ops", "--dry-run",
                     stdout=io.StringIO())


def test_destroying_a_users_resources_leaves_what_they_made_for_a_team(things, host_queue):
    out = io.StringIO()
    call_command("destroy_user_resources", "alice", stdout=out)
    assert "1 resource(s) of alice." in out.getvalue()
    destroyed = Deployment.objects.filter(action="destroy")
    assert [d.resource.name for d in destroyed] == ["mine"]
