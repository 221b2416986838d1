"""What each `herocool` command does, over the API (herocool_cli/client.py)."""
import io
import json
import os
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from . import config
from .client import ApiError, Client
from .follow import exit_status, ending, follow


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
def of_team(args):
    """The API's `team` (a slug; "me" in a list or a find: personal only), if --team."""
    team = getattr(args, "team", None)
    return {"team": team} if team else {}


def find(client, kind, args):
    return client.find(kind, args.name, **of_team(args))


def listing(kind, columns):
    def run(args):
        rows, query = [], of_team(args)
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
    """The body of a site's change: its URL, a file's page, or (a folder) the folder
    packed as a .zip under "folder" (sent as multipart)."""
    if getattr(args, "url", None):
        return {"source": "url", "url": args.url}
    path = Path(args.path)
    if path.is_dir():
        return {"source": "archive", "folder": ("site.zip", pack(path))}
    try:
        html = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ApiError(0, f"{path} does not exist (a folder must hold index.html).") \
            from None
    except UnicodeDecodeError:
        raise ApiError(0, f"{path} is not UTF-8 text.") from None
    return {"source": "html", "html": html}


def pack(folder):
    """The folder as a .zip in memory: every file under it, by its path inside it
    (symbolic links are left out: the platform refuses them)."""
    if not (folder / "index.html").is_file():
        raise ApiError(0, f"{folder} has no index.html at its top.")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()


def send_site(client, method, path, body):
    """JSON, or multipart when the body carries a packed folder."""
    if "folder" not in body:
        return client.request(method, path, body)
    fields = {k: v for k, v in body.items() if k != "folder"}
    return client.upload(method, path, fields, {"folder": body["folder"]})


def site_create(args):
    client = client_from_config()
    answer = send_site(client, "POST", "sites/", {"name": args.name, **of_team(args),
                                                   **site_content(args)})
    return after_change(args, client, answer)


def site_releases(args):
    client = client_from_config()
    site = find(client, "sites", args)
    rows = client.get(f"sites/{site['code']}/releases/")
    show(args, rows, "\n".join(
        f"v{r['number']}\t{'live' if r['live'] else ''}\t{r['created']}\t{r['source']}\t"
        f"{r['file_count']} files, {r['total_bytes']} bytes"
        + (f"\t(rollback to v{r['rollback_of']})" if r["rollback_of"] else "")
        for r in rows) or "No releases yet.")


def site_rollback(args):
    client = client_from_config()
    site = find(client, "sites", args)
    answer = client.post(f"sites/{site['code']}/rollback/", {"release": args.release})
    return after_change(args, client, answer)


def site_update(args):
    client = client_from_config()
    site = find(client, "sites", args)
    body = site_content(args)
    if args.preview:
        return preview_and_show(args, client, send_site(
            client, "POST", f"sites/{site['code']}/preview/", body))
    return after_change(args, client, send_site(client, "PATCH", f"sites/{site['code']}/",
                                                body))


def site_deploy(args):
    """Create the site if it does not exist yet, else update it."""
    client = client_from_config()
    if client.get("sites/", name=args.name, **of_team(args))["results"]:
        return site_update(args)
    return site_create(args)


def preview_and_show(args, client, answer):
    status = after_change(args, client, answer)
    if status == 0 and not args.json and not args.no_wait:
        print(f"Nothing has changed yet. To deploy these changes: herocool apply "
              f"{answer['deployment']['code']}", file=sys.stderr)
    return status


def vm_body(args, name=None):
    """The fields given on the command line (an update sends only those: the rest stay
    as they are)."""
    body = {"instance_type": args.type, "allowed_cidr": args.allow,
            "allow_anywhere": args.allow_anywhere or None}
    if args.key:
        key = Path(os.path.expanduser(args.key))
        try:
            body["ssh_public_key"] = key.read_text().strip()
        except OSError as error:
            raise ApiError(0, f"Cannot read the SSH public key {key}: "
                              f"{error.strerror}.") from None
    body = {field: value for field, value in body.items() if value is not None}
    return {**body, **({"name": name} if name else {})}


def vm_create(args):
    client = client_from_config()
    return after_change(args, client, client.post("vms/", {**vm_body(args, args.name),
                                                           **of_team(args)}))


def vm_update(args):
    client = client_from_config()
    vm = find(client, "vms", args)
    body = vm_body(args)
    if args.preview:
        return preview_and_show(args, client, client.post(f"vms/{vm['code']}/preview/", body))
    return after_change(args, client, client.patch(f"vms/{vm['code']}/", body))


def resource_action(kind, what):
    """delete, refresh, retry of a site or machine by name."""
    def run(args):
        client = client_from_config()
        code = find(client, kind, args)["code"]
        answer = client.delete(f"{kind}/{code}/") if what == "delete" else \
            client.post(f"{kind}/{code}/{what}/")
        return after_change(args, client, answer)
    return run


def resource_show(kind):
    def run(args):
        found = find(client_from_config(), kind, args)
        show(args, found, "\n".join(f"{k}: {v}" for k, v in found.items()))
    return run


def vm_ssh(args):
    """Run ssh to the machine (the command its page shows), with any extra arguments."""
    vm = find(client_from_config(), "vms", args)
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
