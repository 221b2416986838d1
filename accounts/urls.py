from django.contrib.auth.views import LogoutView
from django.urls import include, path

from . import token_views, views

urlpatterns = [
    path("", views.dashboard, name="accounts-dashboard"),
    path("signup/", views.signup, name="accounts-signup"),
    path("login/", views.LoginView.as_view(),
         name="accounts-login"),
    path("logout/", LogoutView.as_view(), name="accounts-logout"),
    path("notifications/", include("accounts.notification_urls")),
    path("account/tokens/", token_views.tokens, name="accounts-tokens"),
    path("account/tokens/<uuid:code>/revoke/", token_views.revoke, name="accounts-token-revoke"),
    path("", include("accounts.account_urls")),
    path("teams/", include("accounts.team_urls")),
]
