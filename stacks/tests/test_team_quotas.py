"""A team's quotas hold however many of its members create at once (issue #18): the
quota lock is the team's, not each creator's."""
import pytest
from django.db import connection

from accounts.models import Membership, Team
from sites.models import Site
from stacks.models import Deployment
from stacks.tests.locks import can_lock_quotas_now, quota_locks_held, ten_site_creates_at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team_of_ten(django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs PostgreSQL's concurrent transactions")
    team = Team.objects.create(name="ops", slug="ops")
    members = [django_user_model.objects.create_user(f"m{i}") for i in range(10)]
    for user in members:
        Membership.objects.create(team=team, user=user, role="deployer")
    return team, members


def test_ten_members_creating_at_once_cannot_pass_the_teams_quota(team_of_ten, settings):
    team, members = team_of_ten
    settings.QUOTA_SITES = 3
    settings.QUOTA_LIVE_DEPLOYMENTS = 100
    outcomes = ["refused" if "The team ops has reached its limit of 3 sites" in o else o
                for o in ten_site_creates_at_once(members, team)]
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 7
    assert Site.objects.count() == 3 and Deployment.objects.filter(team=team).count() == 3


def test_a_teams_quota_checks_take_turns_and_leave_personal_ones_alone(team_of_ten):
    team, (ann, ben, *_) = team_of_ten
    anns = Site.objects.create(owner=ann, team=team, name="a", content="x")
    bens = Site.objects.create(owner=ben, team=team, name="b", content="x")
    bens_own = Site.objects.create(owner=ben, name="mine", content="x")
    with quota_locks_held(anns):
        assert not can_lock_quotas_now(bens)  # the same team: one at a time
        assert can_lock_quotas_now(bens_own)
    assert can_lock_quotas_now(bens)
