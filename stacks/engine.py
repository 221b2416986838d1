"""The Pulumi Automation API, and the only module that imports it.

Every operation runs an inline program against one stack of a self-managed backend
(postgres:// beside a PostgreSQL database, else file:// under the data directory) and
streams the engine's output lines to a callback. Pulumi's errors become ours, with
messages a user can read.

Each operation starts only the CLI processes it needs (issue #13): the SDK's Stack
methods select the stack first and read its outputs and history back after an update,
so `_cli` runs the operation itself as they do (the inline program served by the SDK's
LanguageServer, the engine's events streamed back over gRPC) and takes the outputs and
the summary from the events. That uses parts of the SDK that are not its public API:
requirements.txt pins its version, and the engine tests exercise every path.
"""
import functools
import json
import logging
import os
import re
import secrets
import socket
import sys
import time
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from django.conf import settings
from google.protobuf import empty_pb2
from pulumi import automation as auto
from pulumi.automation._server import LanguageServer as _LanguageServer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import events_pb2_grpc, language_pb2_grpc
from semver import VersionInfo

from herocool_project import pulumi_backend

from . import workdirs

log = logging.getLogger(__name__)


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
    plan: str = ""  # a preview's update plan (JSON text), when asked for one


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

# A CLI process lives a second or two and most of what it allocates (its Go package
# init, two copies of a password dictionary among them) stays live until it exits: Go's
# default GOGC=100 collects several times for nothing. 400 (heap up to 5× live before a
# collection, still bounded) took ~0.1 s of CPU off each `up` here (1.32 → 1.23 s of the
# CLI's and its provider's CPU, 5 paired updates). An operator's own GOGC wins.
GOGC = "400"


def engine_env(backend=None):
    """Environment of every Pulumi process: nothing reaches for the internet, and the
    backend's password (if any) in PGPASSWORD, never in a URL the CLI could print."""
    url, password = pulumi_backend.without_password(backend or settings.PULUMI_BACKEND_URL)
    return {
        "PULUMI_BACKEND_URL": url,
        **({"PGPASSWORD": password} if password else {}),
        **(_POSTGRES_ENV if url.startswith("postgres") else {}),
        "GOGC": os.environ.get("GOGC", GOGC),
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


ROOT_TYPE = "pulumi:pulumi:Stack"  # the stack's own resource, which holds its outputs
# How the engine's event stream shows a secret value: {SECRET_SIG: ..., "ciphertext":
# "[secret]"}, its value withheld.
SECRET_SIG = "4dabf18193072939515e22adb298388d"


@contextmanager
def _workspace(project, backend=None):
    """A workspace with no stack selected, in a work directory of its own (never shared)
    removed after, or by the host tick if the job is killed (stacks/workdirs.py). Making
    one starts no process: the CLI's version was checked once."""
    opts = _workspace_options(project, backend)
    with workdirs.held("ws-") as work_dir:
        opts.work_dir = str(work_dir)
        with _translated():
            yield auto.LocalWorkspace(**vars(opts))


def _empty():
    """A program for operations that must run one but declare nothing (the doctor)."""


class _Events:
    """What a deployment needs from the engine's event stream: the root stack's outputs
    and the change counts, so that nothing is read back from the backend afterwards."""

    def __init__(self):
        self.outputs = None  # None: the stream carried no outputs of the root stack
        self.changes = None

    def __call__(self, event):
        if event.summary_event:
            self.changes = dict(event.summary_event.resource_changes or {})
        step = event.res_outputs_event and event.res_outputs_event.metadata
        if step and step.type == ROOT_TYPE and step.new is not None:
            self.outputs = dict(step.new.outputs or {})

    def summary(self):
        return {"result": "succeeded", "changes": self.changes or {}}

    def has_secrets(self):
        return SECRET_SIG in json.dumps(self.outputs)


class _EventsServicer(events_pb2_grpc.EventsServicer):
    def __init__(self, on_event):
        self.on_event = on_event

    def StreamEvents(self, request_iterator, context):  # noqa: N802 - gRPC's name
        for request in request_iterator:
            try:
                self.on_event(auto.events.EngineEvent.from_json(json.loads(request.event)))
            except Exception:  # noqa: BLE001 - an odd event must not fail the update
                log.warning("unreadable engine event: %.200s", request.event, exc_info=True)
        return empty_pb2.Empty()


@contextmanager
def _grpc_server(servicers):
    """One loopback gRPC server for one CLI process, serving each of `servicers` (a
    function that adds one to a server); yields its address, or None for none. One
    server for both the program and the events: each started costs ~15 ms before the
    CLI can start and its stop as much after (issue #13)."""
    if not servicers:
        yield None
        return
    # Threads start as calls come: the program's Run and the event stream hold one each
    # for the whole operation, the CLI's short calls (plugins, about) one at a time.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=_GRPC_CHANNEL_OPTIONS)
    for add_servicer in servicers:
        add_servicer(server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=5).wait(10)  # let the last events in before they are read


def _cli(ws, stack_name, args, *, program=None, events=None, on_output=None):
    """One CLI process for one stack, with the inline program served to it and its
    events fed to `events`, as the Automation API's Stack methods do, minus the
    processes they start before and after (`stack select`, `stack output`, `history`)."""
    env = {"PULUMI_DEBUG_COMMANDS": "true", "PULUMI_HOME": ws.pulumi_home, **ws.env_vars}
    servicers = []
    if program is not None:
        runtime = _LanguageServer(program)
        servicers.append(lambda s: language_pb2_grpc.add_LanguageRuntimeServicer_to_server(
            runtime, s))
    if events is not None:
        servicer = _EventsServicer(events)
        servicers.append(lambda s: events_pb2_grpc.add_EventsServicer_to_server(servicer, s))
    with _grpc_server(servicers) as address:
        if program is not None:
            args = [*args, f"--client={address}", "--exec-kind", "auto.inline"]
        if events is not None:
            args = [*args, "--event-log", f"tcp://{address}"]
        # --stack before any "--", after which everything is a positional argument
        end = args.index("--") if "--" in args else len(args)
        args = [*args[:end], "--stack", stack_name, *args[end:]]
        return _run_once_more_if_table_race(ws, args, env, on_output)


def lost_state_table_race(text):
    """Whether a CLI failed only because another CLI created the PostgreSQL state
    backend's table at the same moment: both ran CREATE TABLE IF NOT EXISTS, which
    PostgreSQL does not make safe against a concurrent one (pg_type's unique key, 23505).
    It failed opening the backend, before doing anything: the table exists now."""
    return "failed to create table" in text and "(23505)" in text


def _run_once_more_if_table_race(ws, args, env, on_output):
    try:
        return ws.pulumi_command.run(args, ws.work_dir, env, on_output, on_output)
    except auto.errors.CommandError as exc:
        if not lost_state_table_race(_command_text(exc)):
            raise
        return ws.pulumi_command.run(args, ws.work_dir, env, on_output, on_output)


def _init(ws, stack_name):
    """`pulumi stack init`; a stack that exists already is fine (a retried create)."""
    try:
        _cli(ws, stack_name, ["stack", "init", "--secrets-provider", "passphrase"])
    except auto.errors.StackAlreadyExistsError:
        pass


def _config_args(ws, stack_name, config):
    """Plain values as `--config` flags of the operation itself (no process of their
    own); a secret one needs `pulumi config set --secret` to encrypt it."""
    args = []
    for key, (value, secret) in (config or {}).items():
        if secret:
            _cli(ws, stack_name, ["config", "set", "--secret", key, "--", value])
        else:
            args += ["--config", f"{key}={value}"]
    return args


def _stack_outputs(ws, stack_name):
    """Read the outputs back (one process): only when the event stream lacked them."""
    result = _cli(ws, stack_name, ["stack", "output", "--json", "--show-secrets"])
    return json.loads(result.stdout)


def _outputs_of(ws, stack_name, events):
    if events.outputs is None or events.has_secrets():
        return _stack_outputs(ws, stack_name)
    return events.outputs


_QUIET = ["--yes", "--skip-preview", "--color", "never"]


def up(project, stack_name, program, *, config=None, on_output=None, new=False, plan=""):
    """Create or update the stack's resources. `new`: the stack is expected not to
    exist yet, so it is made first (`stack init` + `up`: 2 processes); otherwise `up`
    alone (1), and a missing stack is made then. `plan`: a preview's update plan (its
    JSON text): the update may do only what it allows (issue #17)."""
    with _workspace(project) as ws, _translated():
        flags = _plan_flags(ws, "--plan", plan) if plan else []
        if new:
            _init(ws, stack_name)
        try:
            events = _up(ws, stack_name, program, config, on_output, flags)
        except auto.errors.StackNotFoundError:
            if new:
                raise
            _init(ws, stack_name)
            events = _up(ws, stack_name, program, config, on_output, flags)
        return Result(outputs=_outputs_of(ws, stack_name, events), summary=events.summary())


def _up(ws, stack_name, program, config, on_output, flags=()):
    events = _Events()
    _cli(ws, stack_name, ["up", *_QUIET, *flags, *_config_args(ws, stack_name, config)],
         program=program, events=events, on_output=on_output)
    return events


def preview(project, stack_name, program, *, config=None, on_output=None, plan=False):
    """What an update would do. `plan`: also save its update plan (Result.plan)."""
    with _workspace(project) as ws, _translated():
        events = _Events()
        flags = _plan_flags(ws, "--save-plan") if plan else []
        _cli(ws, stack_name, ["preview", "--color", "never", *flags,
                              *_config_args(ws, stack_name, config)],
             program=program, events=events, on_output=on_output)
        text = _saved_plan(ws, flags[1]) if plan else ""
    return Result(summary={"changes": events.changes or {}}, plan=text)


def _plan_flags(ws, flag, text=None):
    """Update plans (`--save-plan` / `--plan` a file), still behind PULUMI_EXPERIMENTAL.
    A plan's secrets are encrypted by the stack's settings file (its passphrase salt),
    which lives in the temporary work directory: saved with the plan, put back to use it."""
    ws.env_vars["PULUMI_EXPERIMENTAL"] = "true"
    path = Path(ws.work_dir) / "plan.json"
    if text is not None:
        saved = json.loads(text)
        path.write_text(saved["plan"])
        for name, settings_text in saved["stack_settings"].items():
            (Path(ws.work_dir) / Path(name).name).write_text(settings_text)
    return [flag, str(path)]


def _saved_plan(ws, path):
    stack_settings = {p.name: p.read_text() for p in Path(ws.work_dir).glob("Pulumi.*.yaml")}
    return json.dumps({"plan": Path(path).read_text(), "stack_settings": stack_settings})


def refresh(project, stack_name, program, *, on_output=None):
    with _workspace(project) as ws, _translated():
        events = _Events()
        # run_program: the program runs again, so stack outputs follow what refresh read.
        _cli(ws, stack_name, ["refresh", *_QUIET, "--run-program=true"],
             program=program, events=events, on_output=on_output)
        return Result(outputs=_outputs_of(ws, stack_name, events), summary=events.summary())


def destroy(project, stack_name, program, *, on_output=None):
    """Destroy the stack's resources, then remove the stack itself (one process)."""
    try:
        with _workspace(project) as ws, _translated():
            events = _Events()
            _cli(ws, stack_name, ["destroy", *_QUIET, "--remove"],
                 program=program, events=events, on_output=on_output)
    except StackMissing:
        if on_output:
            on_output("The stack does not exist: nothing to destroy.")
        return Result()
    return Result(summary=events.summary())


def outputs(project, stack_name, *, backend=None):
    """The stack's outputs (secret ones in plain text), on `backend` if given."""
    with _workspace(project, backend) as ws, _translated():
        return _stack_outputs(ws, stack_name)


def cancel(project, stack_name):
    """Unlock a stack whose update was interrupted (a self-managed backend's lock).

    Returns False when there is no such stack (a create killed before it made one). A
    create killed inside `stack init` leaves that command's lock and no stack, and the
    CLI's own cancel needs the stack: without removing that lock here, every later
    create of the stack would be refused as locked.
    """
    try:
        with _workspace(project) as ws, _translated():
            _cli(ws, stack_name, ["cancel", "--yes"])
    except StackMissing:
        removed = pulumi_backend.remove_stack_locks(settings.PULUMI_BACKEND_URL, project,
                                                    stack_name)
        if removed:
            log.warning("removed %d lock(s) of %s, a stack that does not exist (a create "
                        "killed while making it)", removed, stack_name)
        elif removed is None:
            log.warning("%s does not exist; any lock a killed create left of it must be "
                        "removed by hand on a %s backend", stack_name,
                        pulumi_backend.kind(settings.PULUMI_BACKEND_URL))
        return False
    return True


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
        up("herocool-doctor", name, _empty, new=True)
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
