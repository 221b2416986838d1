from django.contrib.auth.views import LogoutView
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.dashboard, name="accounts-dashboard"),
    path("signup/", views.signup, name="accounts-signup"),
    path("login/", views.LoginView.as_view(),
         name="accounts-login"),
    path("logout/", LogoutView.as_view(), name="accounts-logout"),
    path("notifications/", include("accounts.notification_urls")),
]
