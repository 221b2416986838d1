"""Production settings: Django's deployment checks pass, and missing secrets stop it."""
import os
import subprocess
import sys

import pytest

PRODUCTION = {"HEROCOOL_PRODUCTION": "True", "ALLOWED_HOSTS": "herocool.example.com",
              "SECRET_KEY": "k" * 20 + "-not-a-real-secret-but-long-and-varied-0123456789",
              "PULUMI_CONFIG_PASSPHRASE": "a passphrase"}


def manage(settings, tmp_path, *args, drop=()):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "PULUMI_CONFIG_PASSPHRASE")}
    env.update({k: v for k, v in PRODUCTION.items() if k not in drop})
    env["HEROCOOL_DATA_DIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR,
                          env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean(settings, tmp_path):
    done = manage(settings, tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize("secret", ["SECRET_KEY", "PULUMI_CONFIG_PASSPHRASE"])
def test_production_refuses_to_start_without_its_secrets(settings, tmp_path, secret):
    done = manage(settings, tmp_path, "check", drop=[secret])
    assert done.returncode != 0
    assert f"{secret} (or {secret}_FILE) must be set" in done.stderr
    assert not (tmp_path / secret.lower()).exists()  # nothing was generated instead


def test_secrets_can_come_from_files(settings, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(PRODUCTION["SECRET_KEY"])
    os.environ["SECRET_KEY_FILE"] = str(key_file)
    try:
        done = manage(settings, tmp_path, "check", "--deploy", drop=["SECRET_KEY"])
    finally:
        del os.environ["SECRET_KEY_FILE"]
    assert done.returncode == 0, done.stderr


def test_production_turns_on_secure_cookies_and_hsts(settings, tmp_path):
    script = ("from django.conf import settings as s; print(s.DEBUG, "
              "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)")
    done = manage(settings, tmp_path, "shell", "-c", script)
    assert done.stdout.splitlines()[-1].split() == ["False", "True", "True", "True"], (
        done.stdout + done.stderr)
