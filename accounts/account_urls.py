"""The Account page and its parts (issue #18), under /account/; sign-in's code step,
address verification and password reset need no login."""
from django.urls import path

from . import account_views, password_views, twofactor_views

urlpatterns = [
    path("account/", account_views.account, name="accounts-account"),
    path("account/email/confirm/", password_views.resend_verification,
         name="accounts-email-resend"),
    path("account/email/verify/", password_views.verify_email, name="accounts-email-verify"),
    path("account/password/", password_views.PasswordChangeView.as_view(),
         name="accounts-password-change"),
    path("password-reset/", password_views.PasswordResetView.as_view(),
         name="accounts-password-reset"),
    path("password-reset/sent/", password_views.PasswordResetDoneView.as_view(),
         name="accounts-password-reset-done"),
    path("password-reset/<uidb64>/<token>/", password_views.PasswordResetConfirmView.as_view(),
         name="accounts-password-reset-confirm"),
    path("password-reset/done/", password_views.PasswordResetCompleteView.as_view(),
         name="accounts-password-reset-complete"),
    path("login/code/", twofactor_views.verify, name="accounts-2fa-verify"),
    path("account/2fa/", twofactor_views.setup, name="accounts-2fa"),
    path("account/2fa/recovery-codes/", twofactor_views.recovery_codes,
         name="accounts-2fa-recovery"),
    path("account/2fa/disable/", twofactor_views.disable, name="accounts-2fa-disable"),
    path("account/keys/", account_views.ssh_keys, name="accounts-keys"),
    path("account/keys/<uuid:code>/delete/", account_views.ssh_key_delete,
         name="accounts-key-delete"),
    path("account/sessions/end-others/", account_views.end_other_sessions,
         name="accounts-sessions-end-others"),
    path("account/sessions/<uuid:code>/end/", account_views.end_session,
         name="accounts-session-end"),
    path("account/delete/", account_views.leave, name="accounts-leave"),
]
