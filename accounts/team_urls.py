"""Team pages (issue #18), under /teams/."""
from django.urls import path

from . import team_views

urlpatterns = [
    path("", team_views.index, name="teams-index"),
    path("join/", team_views.accept, name="teams-accept"),
    path("<uuid:code>/", team_views.detail, name="teams-detail"),
    path("<uuid:code>/invite/", team_views.invite, name="teams-invite"),
    path("<uuid:code>/leave/", team_views.leave, name="teams-leave"),
    path("<uuid:code>/rename/", team_views.rename, name="teams-rename"),
    path("<uuid:code>/delete/", team_views.delete, name="teams-delete"),
    path("members/<uuid:code>/role/", team_views.member_role, name="teams-member-role"),
    path("members/<uuid:code>/remove/", team_views.member_remove, name="teams-member-remove"),
    path("invitations/<uuid:code>/withdraw/", team_views.invitation_cancel,
         name="teams-invitation-cancel"),
]
