"""What our deployment job is compared with, each creating one new local site stack of
the same program, timed in this (warm) process:

- the engine's floor: `stacks.engine.up` called directly (no Django job, no RQ);
- the raw Automation API: `create_or_select_stack` + `up` with the engine's workspace
  options, nothing of ours around it;
- the bare CLI: `pulumi stack init` + `pulumi up` of the program as a plain Pulumi
  project, only when Pulumi's Python language host is at hand.
"""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from django.conf import settings
from pulumi import automation as auto

from bench.common import BASE, PAGE_HTML, log, pulumi_cli
from bench.tutorial import site_program
from sites.models import Site
from stacks import engine

PROJECT = Site.pulumi_project  # the project our site jobs deploy to
LANGUAGE_HOST = "pulumi-language-python"
NO_LANGUAGE_HOST = (
    "The bare-CLI comparison was not made: this run was started with `--without-bare-cli` "
    f"(without it, a run that has no `{LANGUAGE_HOST}`, Pulumi's Python language host, "
    "which a bare `pulumi up` of a Python project needs and the Automation API's inline "
    "programs do not, stops at the start and says how to get one).")

MISSING_LANGUAGE_HOST = (
    f"no `{LANGUAGE_HOST}` for the bare-CLI comparison of the deployments phase. "
    "`bash scripts/setup_pulumi.sh` builds it beside the Pulumi CLI from a git mirror of "
    "pulumi/pulumi (HEROCOOL_PULUMI_SOURCE, default /work/.mirror/pulumi+pulumi/repo: "
    "this workplace's `fetch github:pulumi/pulumi` puts one there), since neither the Go "
    "module proxy nor PyPI serves it. Give one with --language-host DIR, or run "
    "--without-bare-cli to measure without that comparison on purpose.")


def engine_floor(i):
    name = f"site-floor-{i:03d}"
    t0 = time.perf_counter()
    result = engine.up(PROJECT, name, site_program(name))
    elapsed = time.perf_counter() - t0
    assert result.outputs.get("website_url"), result
    return {"total_s": elapsed}


def raw_api(i):
    name = f"site-raw-{i:03d}"
    t0 = time.perf_counter()
    opts = engine._workspace_options(PROJECT)  # noqa: SLF001 - the very same options
    opts.work_dir = tempfile.mkdtemp(prefix="herocool-ws-")
    try:
        stack = auto.create_or_select_stack(stack_name=name, project_name=PROJECT,
                                            program=site_program(name), opts=opts)
        result = stack.up(color="never")
    finally:
        shutil.rmtree(opts.work_dir, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    assert result.outputs["website_url"].value, result.outputs
    return {"total_s": elapsed}


def find_language_host(directory=None):
    """The folder holding pulumi-language-python (and the pulumi-language-python-exec it
    runs): `directory` if given, else beside the CLI (where scripts/setup_pulumi.sh
    puts it, built if need be), else on PATH; None when there is none."""
    def usable(folder):
        return all((folder / name).exists() for name in (LANGUAGE_HOST, f"{LANGUAGE_HOST}-exec"))

    if directory:
        return directory if usable(directory) else None
    beside = pulumi_cli().parent
    if not usable(beside):
        subprocess.run(["bash", str(BASE / "scripts" / "setup_pulumi.sh")], check=False,
                       stdout=subprocess.DEVNULL, timeout=1200)
    if usable(beside):
        return beside
    found = shutil.which(LANGUAGE_HOST)
    return Path(found).parent if found and usable(Path(found).parent) else None


CLI_MAIN = '''"""The local site program, declared directly (no Automation API)."""
import os

import pulumi

from sites.programs.local_provider import LocalSite

site = LocalSite(
    "site",
    sites_root=os.environ["BENCH_SITES_ROOT"],
    host=pulumi.get_stack(),
    index_html=open(os.environ["BENCH_PAGE"]).read(),
    url_template=os.environ["BENCH_URL_TEMPLATE"],
)
pulumi.export("website_url", site.website_url)
pulumi.export("content_hash", site.content_hash)
'''


def _cli_project(run_dir):
    """The same program as a plain Pulumi project, with its own file:// backend; returns
    (project folder, environment)."""
    project, state, venv = run_dir / "cli-project", run_dir / "cli-state", BASE / ".venv"
    project.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    (project / "Pulumi.yaml").write_text(
        "name: herocool-bench-cli\nruntime:\n  name: python\n  options:\n"
        f"    virtualenv: {venv}\n    toolchain: pip\n")
    (project / "__main__.py").write_text(CLI_MAIN)
    (run_dir / "page.html").write_text(PAGE_HTML)
    return project, {
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": settings.PULUMI_CONFIG_PASSPHRASE,
        "PULUMI_HOME": settings.PULUMI_HOME,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": str(venv / "bin" / "python"),
        "PYTHONPATH": str(BASE),
        "BENCH_SITES_ROOT": str(run_dir / "cli-sites"),
        "BENCH_PAGE": str(run_dir / "page.html"),
        "BENCH_URL_TEMPLATE": settings.SITES_URL_TEMPLATE,
    }


def _bare_cli_runner(run_dir, host_dir):
    """run(*args, **env): one CLI process of the plain project, timed."""
    cli = pulumi_cli()
    project, extra = _cli_project(run_dir)
    path = os.pathsep.join([str(host_dir), str(cli.parent), os.environ.get("PATH", "")])
    env = {**os.environ, **extra, "PATH": path}

    def run(*args, **more_env):
        t0 = time.perf_counter()
        proc = subprocess.run([str(cli), *args, "--non-interactive"], cwd=project,
                              env={**env, **more_env}, capture_output=True, text=True,
                              timeout=300)
        if proc.returncode:
            raise RuntimeError(f"pulumi {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return time.perf_counter() - t0

    return run


def bare_cli(run_dir, host_dir):
    """Returns one(i): `pulumi stack init` then `pulumi up --yes --skip-preview` of a
    new stack, timed as processes, with the language host in host_dir."""
    run = _bare_cli_runner(run_dir, host_dir)

    def one(i):
        stack = f"site-cli-{i:03d}"
        init = run("stack", "init", stack)
        up = run("up", "--yes", "--skip-preview", "--stack", stack)
        assert (run_dir / "cli-sites" / stack / "live" / "index.html").exists()
        return {"init_s": init, "up_s": up, "total_s": init + up}

    return one


def bare_cli_update(run_dir, host_dir):
    """Returns one(i): `pulumi up --yes --skip-preview` of bare_cli's stack i with a
    changed page (as our update changes the site's content)."""
    run = _bare_cli_runner(run_dir, host_dir)

    def one(i):
        stack = f"site-cli-{i:03d}"
        page = run_dir / f"page-v{i}.html"
        html = PAGE_HTML.replace("<body>", f"<body><p>v{i}</p>", 1)
        page.write_text(html)
        up = run("up", "--yes", "--skip-preview", "--stack", stack, BENCH_PAGE=str(page))
        assert (run_dir / "cli-sites" / stack / "live" / "index.html").read_text() == html
        return {"up_s": up, "total_s": up}

    return one


def update_baselines(run_dir, language_host):
    """{name: one(i)} of the baselines to run after each update of ours."""
    return {"cli": bare_cli_update(run_dir, language_host)} if language_host else {}


def baselines(run_dir, language_host):
    """{name: one(i)} of the baselines to run after each of our deployments."""
    out = {"engine": engine_floor, "raw": raw_api}
    if language_host:
        out["cli"] = bare_cli(run_dir, language_host)
    else:
        log(NO_LANGUAGE_HOST)
    return out
