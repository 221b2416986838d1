from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="sites-index"),
    path("new/", views.create, name="sites-create"),
    path("<uuid:code>/", views.detail, name="sites-detail"),
    path("<uuid:code>/edit/", views.update, name="sites-update"),
    path("<uuid:code>/delete/", views.delete, name="sites-delete"),
    path("<uuid:code>/refresh/", views.refresh, name="sites-refresh"),
    path("<uuid:code>/retry/", views.retry, name="sites-retry"),
    path("<uuid:code>/expiry/", views.expiry, name="sites-expiry"),
    path("<uuid:code>/rollback/", views.rollback, name="sites-rollback"),
    path("<uuid:code>/changes/", views.release_diff, name="sites-release-diff"),
    path("<uuid:code>/domains/add/", views.add_domain, name="sites-domain-add"),
    path("<uuid:code>/domains/verify/", views.verify_domain, name="sites-domain-verify"),
    path("<uuid:code>/domains/remove/", views.remove_domain, name="sites-domain-remove"),
]
