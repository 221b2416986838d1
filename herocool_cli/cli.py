"""`herocool`: sites, machines and deployments from a terminal or a CI job.

Exit status: 0 done (a followed deployment succeeded); 1 an error (refused, invalid, not
found, unreachable); 2 wrong usage; 3 the followed deployment failed; 4 it was cancelled.
"""
import argparse
import json
import sys

from .client import ApiError
from .commands import (dep_apply, dep_cancel, dep_list, dep_log, dep_show, login, listing,
                       resource_action, resource_show, site_create, site_deploy, site_releases,
                       site_rollback, site_update, vm_create, vm_ssh, vm_update)
from .follow import EXIT_ERROR

TEAM_HELP = {
    "create": "create it for this team (by its slug; you must be its deployer or admin)",
    "list": "only this team's (by its slug; me: only your personal ones)",
    "deploy": "the team's site of that name, or a new one for this team (by its slug)",
    "find": "the one of this team (by its slug; me: your personal one), where a team's "
            "and yours share the name",
}
SITE_PATH_HELP = ("an HTML file (a one-page site), or a folder with index.html at its top: "
                  "the whole folder is packed and deployed as a release")


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except ApiError as error:
        return report(args, error)
    except KeyboardInterrupt:
        return 130


def report(args, error):
    if getattr(args, "json", False):
        print(json.dumps({"detail": error.detail, "errors": error.errors}), file=sys.stderr)
        return EXIT_ERROR
    print(f"herocool: {error.detail}", file=sys.stderr)
    for field, messages in error.errors.items():
        for message in messages:
            print(f"  {field}: {message}", file=sys.stderr)
    return EXIT_ERROR


# --- the parser --------------------------------------------------------------------
def parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output on stdout (the log goes to stderr)")
    waiting = argparse.ArgumentParser(add_help=False, parents=[common])
    waiting.add_argument("--no-wait", action="store_true",
                         help="return once the deployment is queued; do not follow it")
    top = argparse.ArgumentParser(
        prog="herocool", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--json", action="store_true", help=common._actions[0].help)
    groups = top.add_subparsers(dest="group", required=True, metavar="COMMAND")

    p = groups.add_parser("login", parents=[common], help="keep the platform's URL and a token")
    p.add_argument("--url", required=True, help="the platform, e.g. https://herocool.example")
    p.add_argument("--token", required=True, help="a token from your account's API tokens page")
    p.set_defaults(run=login)

    add_sites(groups, common, waiting)
    add_vms(groups, common, waiting)
    add_deployments(groups, common, waiting)
    p = groups.add_parser("preview", parents=[waiting],
                          help="preview a site's new content (same as sites update --preview)")
    add_site_source(p)
    p.set_defaults(run=site_update, preview=True)
    p = groups.add_parser("apply", parents=[waiting], help="deploy what a preview showed")
    p.add_argument("code", metavar="ID", help="the preview's deployment id")
    p.set_defaults(run=dep_apply)
    return top


def add_team(p, use):
    p.add_argument("--team", metavar="SLUG", help=TEAM_HELP[use])


def add_site_source(p):
    p.add_argument("name", metavar="NAME")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", metavar="PATH", help=SITE_PATH_HELP)
    source.add_argument("--url", help="a page the platform fetches instead")


def add_sites(groups, common, waiting):
    sites = groups.add_parser("sites", help="static sites").add_subparsers(
        dest="command", required=True, metavar="COMMAND")
    p = sites.add_parser("list", parents=[common], help="your sites and your teams'")
    add_team(p, "list")
    p.set_defaults(run=listing("sites", [lambda s: s["name"], lambda s: s["status"],
                                         lambda s: s["url"]]))
    p = sites.add_parser("show", parents=[common], help="one site")
    p.add_argument("name", metavar="NAME")
    add_team(p, "find")
    p.set_defaults(run=resource_show("sites"))
    for name, run, what in (("create", site_create, "create a site from"),
                            ("update", site_update, "deploy new content from"),
                            ("deploy", site_deploy, "create or update a site from")):
        p = sites.add_parser(name, parents=[waiting], help=f"{what} PATH: {SITE_PATH_HELP}")
        add_site_source(p)
        add_team(p, {"update": "find"}.get(name, name))
        if name != "create":
            p.add_argument("--preview", action="store_true",
                           help="only preview the change; apply it with herocool apply ID")
        p.set_defaults(run=run, preview=False)
    p = sites.add_parser("releases", parents=[common],
                         help="a site's releases, newest first (the live one marked)")
    p.add_argument("name", metavar="NAME")
    add_team(p, "find")
    p.set_defaults(run=site_releases)
    p = sites.add_parser("rollback", parents=[waiting],
                         help="publish an earlier release again (a deployment, with its log)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("release", metavar="N", type=int, help="the release's number (v3: 3)")
    add_team(p, "find")
    p.set_defaults(run=site_rollback)
    for name in ("delete", "refresh", "retry"):
        p = sites.add_parser(name, parents=[waiting], help=f"{name} a site")
        p.add_argument("name", metavar="NAME")
        add_team(p, "find")
        p.set_defaults(run=resource_action("sites", name))


def add_vm_options(p, creating):
    """A create has defaults and needs --allow; an update changes only what is given."""
    p.add_argument("--type", default="t3.micro" if creating else None,
                   help="instance type" + (" (default t3.micro)" if creating else ""))
    p.add_argument("--key", default="~/.ssh/id_ed25519.pub" if creating else None,
                   help="your SSH public key file" +
                        (" (default ~/.ssh/id_ed25519.pub)" if creating else ""))
    p.add_argument("--allow", required=creating, metavar="CIDR",
                   help="who may reach SSH, e.g. your address/32")
    p.add_argument("--allow-anywhere", action="store_true",
                   help="really allow a range wider than /16 (IPv4) or /48 (IPv6)")


def add_vms(groups, common, waiting):
    vms = groups.add_parser("vms", help="virtual machines").add_subparsers(
        dest="command", required=True, metavar="COMMAND")
    p = vms.add_parser("list", parents=[common], help="your machines and your teams'")
    add_team(p, "list")
    p.set_defaults(run=listing("vms", [lambda v: v["name"], lambda v: v["status"],
                                       lambda v: v["instance_type"],
                                       lambda v: (v["ssh"] or {}).get("command", "")]))
    p = vms.add_parser("show", parents=[common], help="one machine")
    p.add_argument("name", metavar="NAME")
    add_team(p, "find")
    p.set_defaults(run=resource_show("vms"))
    p = vms.add_parser("create", parents=[waiting], help="create a machine")
    p.add_argument("name", metavar="NAME")
    add_vm_options(p, creating=True)
    add_team(p, "create")
    p.set_defaults(run=vm_create)
    p = vms.add_parser("update", parents=[waiting], help="change a machine")
    p.add_argument("name", metavar="NAME")
    add_vm_options(p, creating=False)
    add_team(p, "find")
    p.add_argument("--preview", action="store_true", help="only preview the change")
    p.set_defaults(run=vm_update)
    for name in ("delete", "refresh", "retry"):
        p = vms.add_parser(name, parents=[waiting], help=f"{name} a machine")
        p.add_argument("name", metavar="NAME")
        add_team(p, "find")
        p.set_defaults(run=resource_action("vms", name))
    p = vms.add_parser("ssh", help="ssh to a live machine (extra arguments go to ssh)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--print", action="store_true",
                   help="print the ssh command, run nothing (before NAME)")
    add_team(p, "find")
    p.add_argument("extra", nargs=argparse.REMAINDER, help="arguments for ssh, e.g. uptime")
    p.set_defaults(run=vm_ssh)


def add_deployments(groups, common, waiting):
    deps = groups.add_parser("deployments", help="deployments and their logs").add_subparsers(
        dest="command", required=True, metavar="COMMAND")
    p = deps.add_parser("list", parents=[common], help="your latest deployments")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(run=dep_list)
    for name, run, text in (("show", dep_show, "one deployment (exit status: how it ended)"),
                            ("cancel", dep_cancel, "cancel a queued or running deployment")):
        p = deps.add_parser(name, parents=[common], help=text)
        p.add_argument("code", metavar="ID")
        p.set_defaults(run=run)
    p = deps.add_parser("log", help="a deployment's log")
    p.add_argument("code", metavar="ID")
    p.add_argument("--follow", "-f", action="store_true",
                   help="follow it until the deployment ends; exit status says how")
    p.set_defaults(run=dep_log)
    p = deps.add_parser("apply", parents=[waiting], help="deploy what a preview showed")
    p.add_argument("code", metavar="ID")
    p.set_defaults(run=dep_apply)
