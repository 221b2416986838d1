"""pulumi_doctor: healthy on this machine, and a non-zero exit naming each problem."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.slow


def doctor(*args):
    out = io.StringIO()
    call_command("pulumi_doctor", *args, stdout=out)
    return out.getvalue()


def test_healthy_engine_and_origin(settings, origin):
    settings.SITES_PORT = origin
    report = doctor()
    assert "(v3.260.0)" in report and "SDK:           3.260.0" in report
    assert "pulumi-resource-pulumi-python" in report
    assert f"http://127.0.0.1:{origin}/ answers" in report
    assert "The engine is healthy." in report


def test_origin_down_is_a_problem(settings, origin):
    settings.SITES_PORT = 9  # nothing listens there
    with pytest.raises(CommandError, match="sites origin .* does not answer"):
        doctor()


def test_missing_cli_is_a_problem(settings, tmp_path):
    settings.PULUMI_ROOT = str(tmp_path / "no-pulumi-here")
    with pytest.raises(CommandError, match="Pulumi CLI is missing or unusable"):
        doctor("--skip-origin")


def test_aws_target_needs_plugin_and_region(settings):
    settings.HEROCOOL_TARGET, settings.AWS_REGION = "aws", ""
    with pytest.raises(CommandError) as failure:
        doctor()
    assert "aws resource plugin is not installed" in str(failure.value)
    assert "AWS_REGION is not set" in str(failure.value)


@pytest.mark.django_db
@pytest.mark.parametrize("_own_pulumi_backend", ["postgres"], indirect=True)
def test_postgres_backend_is_shown_masked_and_locks(settings, _own_pulumi_backend):
    settings.PULUMI_BACKEND_URL = _own_pulumi_backend.replace("herocool@", "herocool:pw-9x@")
    report = doctor("--skip-origin")
    assert "Backend:       postgres://herocool:****@" in report and "pw-9x" not in report
    assert "Locking:       a scratch stack locked, unlocked and removed in" in report
    assert "The engine is healthy." in report


def test_a_backend_that_cannot_lock_is_a_problem(settings):
    settings.PULUMI_BACKEND_URL = ("postgres://herocool:pw-9x@127.0.0.1:9/none"
                                   "?sslmode=disable&connect_timeout=3&table=t")
    with pytest.raises(CommandError, match="could not lock and unlock a scratch stack") as e:
        doctor("--skip-origin")
    assert "pw-9x" not in str(e.value)
