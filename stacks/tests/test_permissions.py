"""The role table of issue #18, every action × every role × a personal or a team
resource (and the team itself), asked of stacks/permissions.py, the one place every page
and the API ask."""
import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import Membership, Team
from sites.models import Site
from stacks.models import Deployment
from stacks.permissions import ACTIONS, DELETE, DEPLOY, MANAGE, VIEW, may, visible_to

pytestmark = pytest.mark.django_db

ROLES = ("owner", "viewer", "deployer", "admin", "stranger", "anonymous")
ALLOWED = {
    # alice's personal site: hers alone, whatever team anyone is in with her.
    ("personal", "owner"): {VIEW, DEPLOY, DELETE},
    # the team's site (created by alice, who is its "owner" here but not a member).
    ("team", "viewer"): {VIEW},
    ("team", "deployer"): {VIEW, DEPLOY},
    ("team", "admin"): {VIEW, DEPLOY, DELETE, MANAGE},
    # the team itself: only its admins manage it; every member sees it.
    ("the team", "viewer"): {VIEW},
    ("the team", "deployer"): {VIEW, DEPLOY},
    ("the team", "admin"): {VIEW, DEPLOY, DELETE, MANAGE},
}


@pytest.fixture
def world(django_user_model):
    users = {name: django_user_model.objects.create_user(name) for name in ROLES[:5]}
    team = Team.objects.create(name="ops", slug="ops")
    for role in ("viewer", "deployer", "admin"):
        Membership.objects.create(team=team, user=users[role], role=role)
    alice = users["owner"]
    things = {"personal": Site.objects.create(owner=alice, name="mine"),
              "team": Site.objects.create(owner=alice, name="ours", team=team),
              "the team": team}
    users["anonymous"] = AnonymousUser()
    return users, things


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["personal", "team", "the team"])
def test_the_role_table(world, kind, role, action):
    users, things = world
    assert may(users[role], action, things[kind]) == (action in ALLOWED.get((kind, role),
                                                                            set()))


@pytest.mark.parametrize("role", ROLES)
def test_visible_to_lists_exactly_what_the_role_may_view(world, role):
    users, things = world
    seen = set(visible_to(users[role], Site).values_list("name", flat=True))
    assert seen == {things[k].name for k in ("personal", "team")
                    if VIEW in ALLOWED.get((k, role), set())}


def test_a_team_resources_deployments_are_seen_by_its_members_only(world):
    users, things = world
    site = things["team"]
    dep = Deployment.objects.create(resource=site, owner=site.owner, team=site.team,
                                    action="update", stack_name=site.stack_name)
    for role in ROLES:
        shown = list(visible_to(users[role], Deployment))
        assert shown == ([dep] if role in ("viewer", "deployer", "admin") else []), role


def test_roles_are_read_once_per_request(world, django_assert_num_queries):
    users, things = world
    viewer = users["viewer"]
    with django_assert_num_queries(1):
        for _ in range(3):
            assert may(viewer, VIEW, things["team"])
            assert not may(viewer, DEPLOY, things["team"])
