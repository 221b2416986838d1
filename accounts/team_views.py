"""Team pages (issue #18): my teams, a team's members, invitations and resources; invite,
change a role, remove, leave, accept; rename and delete the team. A team the user is not
in does not exist for them (404); managing needs the admin role (403)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from herocool_project.forms import errors_text
from herocool_project.ratelimit import limit_changes
from sites.models import Site
from stacks.models import Status
from stacks.permissions import MANAGE, VIEW, forget_roles, may, refusal, roles_of
from vms.models import VirtualMachine

from . import teams
from .team_forms import InviteForm, RoleForm, TeamForm
from .team_models import Invitation, LastAdmin, Membership, Role, Team, TeamInUse


def team_for(request, code, action=VIEW):
    """One of the user's teams, or 404; 403 when their role does not allow `action`."""
    team = get_object_or_404(Team, code=code, pk__in=list(roles_of(request.user)))
    if not may(request.user, action, team):
        raise PermissionDenied(refusal(action, team))
    return team


@login_required
@limit_changes
def index(request):
    """My teams with my role in each; a new team (I become its admin)."""
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = Team.start(form.cleaned_data["name"], request.user)
        messages.success(request, f"Team {team} created: you are its admin.")
        return redirect(team)
    mine = Membership.objects.filter(user=request.user).select_related("team")
    return render(request, "teams/index.html", {"memberships": mine, "form": form})


@login_required
def detail(request, code):
    """Members and roles, pending invitations (for admins), and the team's resources."""
    team = team_for(request, code)
    admin = may(request.user, MANAGE, team)
    live = {"team": team}
    return render(request, "teams/detail.html", {
        "team": team, "admin": admin, "my_role": roles_of(request.user)[team.pk],
        "members": team.memberships.select_related("user").order_by("user__username"),
        "invitations": [i for i in team.invitations.all() if i.is_pending] if admin else [],
        "sites": Site.objects.filter(**live).exclude(status=Status.DELETED)
        .defer(*Site.list_deferred),
        "vms": VirtualMachine.objects.filter(**live).exclude(status=Status.DELETED)
        .defer(*VirtualMachine.list_deferred),
        "invite_form": InviteForm(), "roles": Role.choices,
    })


@login_required
@limit_changes
@require_POST
def invite(request, code):
    """Mail an invitation link with a role (admins)."""
    team = team_for(request, code, MANAGE)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, errors_text(form))
        return redirect(team)
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    _, sent = teams.invite(team, email, role, request.user)
    if sent:
        messages.success(request, f"Invitation sent to {email} as {role}.")
    else:
        messages.warning(request, f"The invitation to {email} is recorded but the mail "
                                  "server is unavailable: withdraw it and invite again later.")
    return redirect(team)


@login_required
@limit_changes
@require_POST
def rename(request, code):
    """Change the team's display name (admins); its slug and code stay."""
    team = team_for(request, code, MANAGE)
    form = TeamForm(request.POST)
    if not form.is_valid():
        messages.error(request, errors_text(form))
        return redirect(team)
    old = team.name
    team.rename(form.cleaned_data["name"])
    messages.success(request, f"Team {old} renamed {team}.")
    return redirect(team)


@login_required
@limit_changes
@require_POST
def delete(request, code):
    """Delete the team (admins), refused while it owns a site or machine not deleted."""
    team = team_for(request, code, MANAGE)
    try:
        team.dissolve()
    except TeamInUse as exc:
        messages.error(request, str(exc))
        return redirect(team)
    forget_roles(request.user)
    messages.success(request, f"Team {team} deleted.")
    return redirect("teams-index")


def _membership_for(request, code):
    membership = get_object_or_404(Membership.objects.select_related("team", "user"),
                                   code=code, team__in=list(roles_of(request.user)))
    if not may(request.user, MANAGE, membership.team):
        raise PermissionDenied(refusal(MANAGE, membership.team))
    return membership


@login_required
@limit_changes
@require_POST
def member_role(request, code):
    """Change a member's role (admins); the last admin stays admin."""
    membership = _membership_for(request, code)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            membership.set_role(form.cleaned_data["role"])
            messages.success(request, f"{membership.user} is now {membership.role}.")
        except LastAdmin as exc:
            messages.error(request, str(exc))
    forget_roles(request.user)
    return redirect(membership.team)


@login_required
@limit_changes
@require_POST
def member_remove(request, code):
    """Remove a member (admins); the last admin stays."""
    membership = _membership_for(request, code)
    return _end(request, membership, f"{membership.user} removed from {membership.team}.")


@login_required
@limit_changes
@require_POST
def leave(request, code):
    """Leave the team (the last admin cannot)."""
    team = team_for(request, code)
    membership = team.memberships.select_related("team", "user").get(user=request.user)
    return _end(request, membership, f"You left {team}.")


def _end(request, membership, said):
    try:
        membership.end()
    except LastAdmin as exc:
        messages.error(request, str(exc))
        return redirect(membership.team)
    forget_roles(request.user)
    messages.success(request, said)
    return redirect(membership.team if roles_of(request.user).get(membership.team_id)
                    else "teams-index")


@login_required
@limit_changes
@require_POST
def invitation_cancel(request, code):
    """Withdraw a pending invitation (admins)."""
    invitation = get_object_or_404(Invitation.objects.select_related("team"), code=code,
                                   team__in=list(roles_of(request.user)))
    if not may(request.user, MANAGE, invitation.team):
        raise PermissionDenied(refusal(MANAGE, invitation.team))
    invitation.cancel()
    messages.success(request, f"Invitation to {invitation.email} withdrawn.")
    return redirect(invitation.team)


@login_required
@limit_changes
def accept(request):
    """The emailed link (`?t=`): shows the team and role; a POST joins."""
    token = request.GET.get("t", "")
    try:
        invitation = teams.pending(token)
        if request.method == "POST":
            membership = teams.accept(token, request.user)
            forget_roles(request.user)
            messages.success(request, f"You joined {membership.team} as {membership.role}.")
            return redirect(membership.team)
    except teams.InvitationRefused as exc:
        return render(request, "teams/accept.html", {"refused": str(exc)})
    return render(request, "teams/accept.html", {"invitation": invitation})
