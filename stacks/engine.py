"""The Pulumi Automation API, and the only module that imports it.

Every operation runs an inline program against one stack of a self-managed backend
(postgres:// beside a PostgreSQL database, else file:// under the data directory) and
streams the engine's output lines to a callback. Pulumi's errors become ours, with
messages a user can read.
"""
import functools
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from pulumi import automation as auto
from semver import VersionInfo

from herocool_project import pulumi_backend


class EngineError(Exception):
    """A deployment could not complete; the message is safe to show to the user."""


class StackBusy(EngineError):
    pass


class StackMissing(EngineError):
    pass


class PluginMissing(EngineError):
    pass


class ProgramFailed(EngineError):
    pass


@dataclass
class Result:
    outputs: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


def cli_root():
    """The folder holding bin/pulumi: the setting, else where setup_pulumi.sh puts it."""
    if settings.PULUMI_ROOT:
        return settings.PULUMI_ROOT
    default = Path.home() / ".pulumi" / "versions" / sdk_version()
    return str(default) if (default / "bin" / "pulumi").exists() else None


def sdk_version():
    from importlib.metadata import version

    return version("pulumi")


def pulumi_command():
    try:
        return _checked_command(cli_root(), sdk_version())
    except (FileNotFoundError, auto.errors.InvalidVersionError) as exc:
        raise EngineError(f"The Pulumi CLI is missing or unusable: {exc}") from exc


@functools.lru_cache(maxsize=4)
def _checked_command(root, version):
    # Making one runs `pulumi version` (0.12 s): once per process and CLI is enough.
    return auto.PulumiCommand(root=root, version=VersionInfo.parse(version))


# The CLI's postgres:// backend lists stacks on PULUMI_DIY_BACKEND_PARALLEL (10)
# goroutines, each holding one pooled connection for its listing while it waits for a
# second, from a pool of 2 × GOMAXPROCS: on a machine of 5 CPUs or fewer, `stack ls` of a
# project with that many stacks waits forever. One at a time can always finish.
_POSTGRES_ENV = {"PULUMI_DIY_BACKEND_PARALLEL": "1"}


def engine_env(backend=None):
    """Environment of every Pulumi process: nothing reaches for the internet, and the
    backend's password (if any) in PGPASSWORD, never in a URL the CLI could print."""
    url, password = pulumi_backend.without_password(backend or settings.PULUMI_BACKEND_URL)
    return {
        "PULUMI_BACKEND_URL": url,
        **({"PGPASSWORD": password} if password else {}),
        **(_POSTGRES_ENV if url.startswith("postgres") else {}),
        "PULUMI_CONFIG_PASSPHRASE": settings.PULUMI_CONFIG_PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        # Inline programs get no virtualenv hint: dynamic providers need ours, and
        # their classes must import from the project.
        "PULUMI_PYTHON_CMD": sys.executable,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.BASE_DIR),
                                                    os.environ.get("PYTHONPATH")])),
    }


def _workspace_options(project, backend=None):
    """Options of a workspace on `backend` (a URL; the configured one by default)."""
    env = engine_env(backend)
    if env["PULUMI_BACKEND_URL"].startswith("file://"):
        Path(env["PULUMI_BACKEND_URL"][len("file://"):]).mkdir(parents=True, exist_ok=True)
    Path(settings.PULUMI_HOME).mkdir(parents=True, exist_ok=True)
    return auto.LocalWorkspaceOptions(
        pulumi_home=settings.PULUMI_HOME,
        env_vars=env,
        secrets_provider="passphrase",
        project_settings=auto.ProjectSettings(
            name=project,
            runtime="python",
            backend=auto.ProjectBackend(env["PULUMI_BACKEND_URL"]),
        ),
        pulumi_command=pulumi_command(),
    )


@contextmanager
def _stack(project, stack_name, program, *, create=True):
    """The stack, in a temporary work directory of its own (never shared), removed after."""
    opts = _workspace_options(project)
    opts.work_dir = tempfile.mkdtemp(prefix="herocool-ws-")
    try:
        with _translated():
            if create:
                stack = auto.create_or_select_stack(
                    stack_name=stack_name, project_name=project, program=program, opts=opts)
            else:
                stack = auto.select_stack(stack_name=stack_name, project_name=project,
                                          program=program or _empty, opts=opts)
        yield stack
    finally:
        shutil.rmtree(opts.work_dir, ignore_errors=True)


def _empty():
    """A program for operations that never run one (outputs, cancel)."""


class _translated:
    """Turn Pulumi's exceptions into ours, keeping the useful part of the message."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, EngineError):
            return False
        if isinstance(exc, auto.errors.ConcurrentUpdateError):
            raise StackBusy("Another deployment of this stack is in progress.") from exc
        if isinstance(exc, auto.errors.StackNotFoundError):
            raise StackMissing("The stack does not exist in the backend.") from exc
        if isinstance(exc, auto.errors.CommandError):
            text = _command_text(exc)
            if re.search(r"no resource plugin|could not find .*plugin|plugin .* not found",
                         text, re.I):
                raise PluginMissing(f"A Pulumi plugin is missing: {_first_error(text)}") from exc
            raise ProgramFailed(_first_error(text)) from exc
        if isinstance(exc, (FileNotFoundError, auto.errors.InvalidVersionError)):
            raise EngineError(f"The Pulumi CLI is missing or unusable: {exc}") from exc
        return False


def _command_text(exc):
    result = getattr(exc, "command_result", None)
    if result is None:
        return str(exc)
    return f"{result.stdout}\n{result.stderr}"


def _first_error(text):
    """The most telling line of a failed command's output."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for pattern in (r"^(error|Exception|\w+Error):", r"error:"):
        for line in lines:
            if re.search(pattern, line):
                return line[:500]
    return (lines[-1] if lines else "The Pulumi command failed.")[:500]


def _set_config(stack, config):
    for key, (value, secret) in (config or {}).items():
        stack.set_config(key, auto.ConfigValue(value=value, secret=secret))


def _outputs(stack):
    return {key: out.value for key, out in stack.outputs().items()}


def up(project, stack_name, program, *, config=None, on_output=None):
    with _stack(project, stack_name, program) as stack, _translated():
        _set_config(stack, config)
        result = stack.up(on_output=on_output, on_error=on_output, color="never")
    return Result(outputs={k: v.value for k, v in result.outputs.items()},
                  summary=_summary(result.summary))


def preview(project, stack_name, program, *, config=None, on_output=None):
    with _stack(project, stack_name, program) as stack, _translated():
        _set_config(stack, config)
        result = stack.preview(on_output=on_output, on_error=on_output, color="never")
    return Result(summary={"changes": dict(result.change_summary)})


def refresh(project, stack_name, program, *, on_output=None):
    with _stack(project, stack_name, program, create=False) as stack, _translated():
        # run_program: the program runs again, so stack outputs follow what refresh read.
        result = stack.refresh(on_output=on_output, on_error=on_output, color="never",
                               run_program=True)
        return Result(outputs=_outputs(stack), summary=_summary(result.summary))


def destroy(project, stack_name, program, *, on_output=None):
    """Destroy the stack's resources, then remove the stack itself."""
    try:
        with _stack(project, stack_name, program, create=False) as stack, _translated():
            result = stack.destroy(on_output=on_output, on_error=on_output, color="never")
            stack.workspace.remove_stack(stack_name)
    except StackMissing:
        if on_output:
            on_output("The stack does not exist: nothing to destroy.")
        return Result()
    return Result(summary=_summary(result.summary))


def outputs(project, stack_name, *, backend=None):
    """The stack's outputs (secret ones in plain text), on `backend` if given."""
    if backend:
        with _workspace(project, backend) as ws:
            return {key: out.value for key, out in ws.stack_outputs(stack_name).items()}
    with _stack(project, stack_name, None, create=False) as stack, _translated():
        return _outputs(stack)


def cancel(project, stack_name):
    """Unlock a stack whose update was interrupted (a self-managed backend's lock).

    Returns False when there is no such stack (a create killed before it made one).
    """
    try:
        with _stack(project, stack_name, None, create=False) as stack, _translated():
            stack.cancel()
    except StackMissing:
        return False
    return True


@contextmanager
def _workspace(project, backend=None):
    """A workspace with no stack selected, in a temporary work directory removed after."""
    opts = _workspace_options(project, backend)
    with tempfile.TemporaryDirectory(prefix="herocool-ws-") as work_dir:
        opts.work_dir = work_dir
        with _translated():
            yield auto.LocalWorkspace(**vars(opts))


def list_stacks(project, *, backend=None):
    """Names of the project's stacks in the backend (for maintenance commands only)."""
    with _workspace(project, backend) as ws:
        return sorted(s.name for s in ws.list_stacks())


def export_state(project, stack_name, *, backend=None):
    """The stack's checkpoint as JSON-able data. Its secrets are in plain text (so that
    two exports compare by value): keep it in memory, never in a log or a file."""
    with _workspace(project, backend) as ws:
        exported = ws.export_stack(stack_name)
    return {"version": exported.version, "deployment": exported.deployment}


def import_state(project, stack_name, state, *, backend=None):
    """Write a checkpoint from export_state() into the stack, made if missing. The CLI
    encrypts its secrets again with the checkpoint's own passphrase provider (and salt),
    so the target needs the source's PULUMI_CONFIG_PASSPHRASE."""
    with _workspace(project, backend) as ws:
        try:
            ws.create_stack(stack_name)
        except auto.errors.StackAlreadyExistsError:
            pass
        ws.import_stack(stack_name, auto.Deployment(**state))


def check_locking():
    """Lock and unlock a scratch stack of the backend: two updates (the second would be
    refused as busy had the first left its lock), then destroy and remove it. Returns
    the seconds it took; raises EngineError on any failure."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", f"doctor-{socket.gethostname()}-{os.getpid()}-"
                                           f"{secrets.token_hex(3)}")
    started = time.monotonic()
    try:
        up("herocool-doctor", name, _empty)
        up("herocool-doctor", name, _empty)
    finally:
        destroy("herocool-doctor", name, _empty)
    return time.monotonic() - started


def _summary(update_summary):
    return {
        "result": update_summary.result,
        "changes": dict(update_summary.resource_changes or {}),
    }


def describe():
    """The engine's setup as facts for `pulumi_doctor`; raises EngineError if unusable."""
    command = pulumi_command()
    with _workspace("herocool-doctor") as ws:
        plugins = [f"{p.name} {p.version or ''} ({p.kind})".strip() for p in ws.list_plugins()]
    python_plugin = Path(command.command).parent / "pulumi-resource-pulumi-python"
    return {
        "cli": command.command,
        "version": str(command.version),
        "sdk_version": sdk_version(),
        "backend": pulumi_backend.masked(settings.PULUMI_BACKEND_URL),
        "pulumi_home": settings.PULUMI_HOME,
        "plugins": plugins,
        "python_plugin": str(python_plugin) if python_plugin.exists() else None,
    }
