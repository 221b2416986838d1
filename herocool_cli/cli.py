"""`herocool`: sites, machines and deployments from a terminal or a CI job.

Exit status: 0 done (a followed deployment succeeded); 1 an error (refused, invalid, not
found, unreachable); 2 wrong usage; 3 the followed deployment failed; 4 it was cancelled.
"""
import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from . import config
from .client import ApiError, Client
from .follow import EXIT_ERROR, exit_status, ending, follow

SITE_PATH_HELP = ("an HTML file, or a folder whose index.html is deployed (a site is one "
                  "HTML page today: the rest of a folder is not sent)")


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


def client_from_config():
    saved = config.load()
    if not saved["url"] or not saved["token"]:
        raise ApiError(0, "Not logged in: run herocool login --url URL --token TOKEN "
                          "(make a token on your account's API tokens page).")
    return Client(saved["url"], saved["token"])


def show(args, data, text):
    """JSON for scripts (--json), else the text for people."""
    print(json.dumps(data, indent=2) if args.json else text)


# --- login -------------------------------------------------------------------------
def login(args):
    client = Client(args.url, args.token)
    client.get("sites/", limit=1)  # a bad address or token fails here, not later
    where = config.save(args.url, args.token)
    show(args, {"url": args.url, "config": str(where)}, f"Logged in to {args.url}; "
         f"the token is kept in {where} (mode 0600).")


# --- sites and machines ------------------------------------------------------------
def listing(kind, columns):
    def run(args):
        rows, query = [], {}
        client = client_from_config()
        while True:
            page = client.get(f"{kind}/", **query)
            rows += page["results"]
            if not page["next"]:
                break
            query = dict(parse_qsl(urlsplit(page["next"]).query))  # the next cursor
        show(args, rows, "\n".join("\t".join(str(col(r)) for col in columns)
                                   for r in rows) or f"No {kind} yet.")
    return run


def after_change(args, client, answer):
    """Print what was queued; follow it unless --no-wait; the exit status says how it
    ended."""
    dep = answer["deployment"] if "deployment" in answer else answer
    if answer.get("warning"):
        print(f"herocool: {answer['warning']}", file=sys.stderr)
    if args.no_wait:
        show(args, answer, f"Deployment {dep['code']} ({dep['action']}) queued.")
        return 0
    if not args.json:
        print(f"Deployment {dep['code']} ({dep['action']} of {dep['resource']['name']}) "
              "queued; following its log (Ctrl-C stops following, not the deployment).",
              file=sys.stderr)
    ended = follow(client, dep["code"], sys.stderr if args.json else sys.stdout, sys.stderr)
    show(args, ended, ending(ended))
    return exit_status(ended)


def site_content(args):
    if getattr(args, "url", None):
        return {"source": "url", "url": args.url}
    path = Path(args.path)
    if path.is_dir():
        path = path / "index.html"
    try:
        html = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ApiError(0, f"{path} does not exist (a folder must hold index.html).") \
            from None
    except UnicodeDecodeError:
        raise ApiError(0, f"{path} is not UTF-8 text.") from None
    return {"source": "html", "html": html}


def site_create(args):
    client = client_from_config()
    answer = client.post("sites/", {"name": args.name, **site_content(args)})
    return after_change(args, client, answer)


def site_update(args):
    client = client_from_config()
    site = client.find("sites", args.name)
    body = site_content(args)
    if args.preview:
        return preview_and_show(args, client, client.post(f"sites/{site['code']}/preview/",
                                                          body))
    return after_change(args, client, client.patch(f"sites/{site['code']}/", body))


def site_deploy(args):
    """Create the site if it does not exist yet, else update it."""
    client = client_from_config()
    if client.get("sites/", name=args.name)["results"]:
        return site_update(args)
    return site_create(args)


def preview_and_show(args, client, answer):
    status = after_change(args, client, answer)
    if status == 0 and not args.json and not args.no_wait:
        print(f"Nothing has changed yet. To deploy these changes: herocool apply "
              f"{answer['deployment']['code']}", file=sys.stderr)
    return status


def vm_body(args, name=None):
    body = {"instance_type": args.type, "allowed_cidr": args.allow,
            "allow_anywhere": args.allow_anywhere}
    key = Path(os.path.expanduser(args.key))
    try:
        body["ssh_public_key"] = key.read_text().strip()
    except OSError as error:
        raise ApiError(0, f"Cannot read the SSH public key {key}: {error.strerror}.") \
            from None
    return {**body, **({"name": name} if name else {})}


def vm_create(args):
    client = client_from_config()
    return after_change(args, client, client.post("vms/", vm_body(args, args.name)))


def vm_update(args):
    client = client_from_config()
    vm = client.find("vms", args.name)
    body = vm_body(args)
    if args.preview:
        return preview_and_show(args, client, client.post(f"vms/{vm['code']}/preview/", body))
    return after_change(args, client, client.patch(f"vms/{vm['code']}/", body))


def resource_action(kind, what):
    """delete, refresh, retry of a site or machine by name."""
    def run(args):
        client = client_from_config()
        code = client.find(kind, args.name)["code"]
        answer = client.delete(f"{kind}/{code}/") if what == "delete" else \
            client.post(f"{kind}/{code}/{what}/")
        return after_change(args, client, answer)
    return run


def resource_show(kind):
    def run(args):
        found = client_from_config().find(kind, args.name)
        show(args, found, "\n".join(f"{k}: {v}" for k, v in found.items()))
    return run


def vm_ssh(args):
    """Run ssh to the machine (the command its page shows), with any extra arguments."""
    vm = client_from_config().find("vms", args.name)
    ssh = vm.get("ssh") or {}
    if vm["status"] != "live" or not ssh:
        raise ApiError(0, f"{args.name} is {vm['status']}: it has no SSH address yet.")
    argv = ["ssh", "-p", str(ssh["port"]), f"{ssh['user']}@{ssh['host']}", *args.extra]
    if args.print:
        print(" ".join(argv))
        return 0
    os.execvp("ssh", argv)


# --- deployments -------------------------------------------------------------------
def dep_show(args):
    dep = client_from_config().get(f"deployments/{args.code}/")
    show(args, dep, "\n".join(f"{k}: {v}" for k, v in dep.items()))
    return exit_status(dep) if not dep["active"] else 0


def dep_log(args):
    client = client_from_config()
    if args.follow:
        ended = follow(client, args.code, sys.stdout, sys.stderr)
        print(ending(ended), file=sys.stderr)
        return exit_status(ended)
    log = client.get(f"deployments/{args.code}/log/")
    sys.stdout.write(log["text"])
    return 0


def dep_cancel(args):
    dep = client_from_config().post(f"deployments/{args.code}/cancel/")
    show(args, dep, dep["note"])


def dep_apply(args):
    client = client_from_config()
    return after_change(args, client, client.post(f"deployments/{args.code}/apply/"))


def dep_list(args):
    rows = client_from_config().get("deployments/", limit=args.limit)["results"]
    show(args, rows, "\n".join(
        f"{d['code']}\t{d['action']}\t{d['resource']['kind']}/{d['resource']['name']}\t"
        f"{d['status']}\t{d['queued_at']}" for d in rows) or "No deployments yet.")


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


def add_site_source(p):
    p.add_argument("name", metavar="NAME")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", metavar="PATH", help=SITE_PATH_HELP)
    source.add_argument("--url", help="a page the platform fetches instead")


def add_sites(groups, common, waiting):
    sites = groups.add_parser("sites", help="static sites").add_subparsers(
        dest="command", required=True, metavar="COMMAND")
    p = sites.add_parser("list", parents=[common], help="your sites")
    p.set_defaults(run=listing("sites", [lambda s: s["name"], lambda s: s["status"],
                                         lambda s: s["url"]]))
    p = sites.add_parser("show", parents=[common], help="one site")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=resource_show("sites"))
    for name, run, what in (("create", site_create, "create a site from"),
                            ("update", site_update, "deploy new content from"),
                            ("deploy", site_deploy, "create or update a site from")):
        p = sites.add_parser(name, parents=[waiting], help=f"{what} PATH: {SITE_PATH_HELP}")
        add_site_source(p)
        if name != "create":
            p.add_argument("--preview", action="store_true",
                           help="only preview the change; apply it with herocool apply ID")
        p.set_defaults(run=run, preview=False)
    for name in ("delete", "refresh", "retry"):
        p = sites.add_parser(name, parents=[waiting], help=f"{name} a site")
        p.add_argument("name", metavar="NAME")
        p.set_defaults(run=resource_action("sites", name))


def add_vm_options(p):
    p.add_argument("--type", default="t3.micro", help="instance type (default t3.micro)")
    p.add_argument("--key", default="~/.ssh/id_ed25519.pub", help="your SSH public key file")
    p.add_argument("--allow", required=True, metavar="CIDR",
                   help="who may reach SSH, e.g. your address/32")
    p.add_argument("--allow-anywhere", action="store_true",
                   help="really allow a range wider than /16 (IPv4) or /48 (IPv6)")


def add_vms(groups, common, waiting):
    vms = groups.add_parser("vms", help="virtual machines").add_subparsers(
        dest="command", required=True, metavar="COMMAND")
    p = vms.add_parser("list", parents=[common], help="your machines")
    p.set_defaults(run=listing("vms", [lambda v: v["name"], lambda v: v["status"],
                                       lambda v: v["instance_type"],
                                       lambda v: (v["ssh"] or {}).get("command", "")]))
    p = vms.add_parser("show", parents=[common], help="one machine")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=resource_show("vms"))
    p = vms.add_parser("create", parents=[waiting], help="create a machine")
    p.add_argument("name", metavar="NAME")
    add_vm_options(p)
    p.set_defaults(run=vm_create)
    p = vms.add_parser("update", parents=[waiting], help="change a machine")
    p.add_argument("name", metavar="NAME")
    add_vm_options(p)
    p.add_argument("--preview", action="store_true", help="only preview the change")
    p.set_defaults(run=vm_update)
    for name in ("delete", "refresh", "retry"):
        p = vms.add_parser(name, parents=[waiting], help=f"{name} a machine")
        p.add_argument("name", metavar="NAME")
        p.set_defaults(run=resource_action("vms", name))
    p = vms.add_parser("ssh", help="ssh to a live machine (extra arguments go to ssh)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--print", action="store_true",
                   help="print the ssh command, run nothing (before NAME)")
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
