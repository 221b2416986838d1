"""The static files storage (herocool_project/storage.py): a collected file gets its hashed
name; a name missing from a collected manifest is Django's ValueError, which whitenoise's
start-up probe takes for "not hashed" without a warning; with no manifest at all a page
still renders with the plain name, and the log says to run collectstatic."""
import logging

import pytest
from django.core.management import call_command
from django.test import override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

from herocool_project.storage import StaticFilesStorage

WARNING = "was not collected"
# The tests' settings use Django's plain storage (conftest.py); these use the product's.
OURS = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "herocool_project.storage.StaticFilesStorage"}}
FILES_ONLY = "django.contrib.staticfiles.finders.FileSystemFinder"


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "source" / "vendor"
    folder.mkdir(parents=True)
    (folder / "kit.min.css").write_text("body { color: red }\n")
    return folder.parent


def storage_in(root):
    return StaticFilesStorage(location=str(root), base_url="/static/")


def test_a_collected_manifest_hashes_names_and_refuses_names_it_lacks_quietly(
        source, tmp_path, caplog, monkeypatch):
    root = tmp_path / "collected"
    with override_settings(STATICFILES_DIRS=[source], STATIC_ROOT=root, STORAGES=OURS,
                           STATICFILES_FINDERS=[FILES_ONLY]):
        call_command("collectstatic", "--noinput", verbosity=0)
        storage = storage_in(root)
        assert storage.url("vendor/kit.min.css").startswith("/static/vendor/kit.min.")
        assert storage.url("vendor/kit.min.css") != "/static/vendor/kit.min.css"
        with caplog.at_level(logging.WARNING), pytest.raises(ValueError):
            storage.url("vendor/kit.css")
        # whitenoise, starting, asks for the plain copy it serves whether `kit.css` is its
        # hashed original: it is not, and nothing is logged for asking.
        monkeypatch.setattr("whitenoise.middleware.staticfiles_storage", storage)
        with caplog.at_level(logging.WARNING):
            middleware = WhiteNoiseMiddleware(lambda request: None)

        def cache_control(url):
            return dict(middleware.files[url].get_response("HEAD", {}).headers)[
                "Cache-Control"]

        assert "immutable" not in cache_control("/static/vendor/kit.min.css")
        assert "immutable" in cache_control(storage.url("vendor/kit.min.css"))
    assert WARNING not in caplog.text


def test_without_collectstatic_a_page_gets_the_plain_name_and_the_log_says_so(
        tmp_path, caplog):
    storage = storage_in(tmp_path / "never-collected")
    with caplog.at_level(logging.WARNING, logger="herocool_project.storage"):
        assert storage.url("vendor/kit.min.css") == "/static/vendor/kit.min.css"
    assert "static file vendor/kit.min.css was not collected: run collectstatic" in caplog.text
