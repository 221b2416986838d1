"""Is the engine healthy? Prints what it finds; exits non-zero on any problem."""
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from stacks import engine


class Command(BaseCommand):
    help = ("Check the Pulumi CLI, the backend (and that it can lock and unlock a scratch "
            "stack), plugins, passphrase and the sites origin.")

    def add_arguments(self, parser):
        parser.add_argument("--skip-origin", action="store_true",
                            help="Do not check that the sites origin answers.")

    def handle(self, *args, skip_origin=False, **options):
        problems = []
        try:
            facts = engine.describe()
        except engine.EngineError as exc:
            raise CommandError(f"Pulumi engine: {exc}") from exc
        self._show("CLI", f"{facts['cli']} (v{facts['version']})")
        self._show("SDK", facts["sdk_version"])
        if facts["version"] != facts["sdk_version"]:
            problems.append(f"CLI v{facts['version']} differs from the SDK "
                            f"v{facts['sdk_version']}: run scripts/setup_pulumi.sh")
        self._show("Backend", facts["backend"])  # masked: the URL may carry a password
        problems += self._locking_problems()
        self._show("PULUMI_HOME", facts["pulumi_home"])
        self._show("Plugins", ", ".join(facts["plugins"]) or "(none installed)")
        self._show("Python plugin", facts["python_plugin"] or "MISSING")
        if not facts["python_plugin"]:
            problems.append("pulumi-resource-pulumi-python is missing beside the CLI: "
                            "run scripts/setup_pulumi.sh")
        self._show("Passphrase", "set" if settings.PULUMI_CONFIG_PASSPHRASE else "MISSING")
        if not settings.PULUMI_CONFIG_PASSPHRASE:
            problems.append("PULUMI_CONFIG_PASSPHRASE is empty")
        self._show("Target", settings.HEROCOOL_TARGET)
        if settings.HEROCOOL_TARGET == "aws":
            problems += self._aws_problems(facts)
        elif not skip_origin:
            problems += self._origin_problems()
        if problems:
            raise CommandError("Problems found:\n- " + "\n- ".join(problems))
        self.stdout.write(self.style.SUCCESS("The engine is healthy."))

    def _show(self, label, value):
        self.stdout.write(f"{label + ':':<15}{value}")

    def _locking_problems(self):
        try:
            seconds = engine.check_locking()
        except engine.EngineError as exc:
            self._show("Locking", f"FAILED ({exc})")
            return [f"the backend could not lock and unlock a scratch stack: {exc}"]
        self._show("Locking", f"a scratch stack locked, unlocked and removed in {seconds:.1f} s")
        return []

    def _aws_problems(self, facts):
        problems = []
        if not any(p.startswith("aws ") for p in facts["plugins"]):
            problems.append("the aws resource plugin is not installed (pulumi plugin "
                            "install resource aws)")
        if not settings.AWS_REGION:
            problems.append("AWS_REGION is not set")
        return problems

    def _origin_problems(self):
        url = f"http://127.0.0.1:{settings.SITES_PORT}/"
        try:
            urllib.request.urlopen(url, timeout=3)
        except urllib.error.HTTPError:
            pass  # any HTTP answer means the origin is up (unknown hosts get 404)
        except OSError as exc:
            self._show("Sites origin", f"{url} does not answer ({exc})")
            return [f"the sites origin at {url} does not answer: start "
                    "`manage.py serve_sites`"]
        self._show("Sites origin", f"{url} answers")
        return []
