from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="accounts-dashboard"),
    path("signup/", views.signup, name="accounts-signup"),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"),
         name="accounts-login"),
    path("logout/", auth_views.LogoutView.as_view(), name="accounts-logout"),
]
