"""The API over HTTP with urllib: JSON in, JSON out, errors as ApiError."""
import json
import uuid
import urllib.error
import urllib.parse
import urllib.request


class ApiError(Exception):
    """The platform refused, or could not be reached. `status` is the HTTP status (0 when
    unreachable); `errors` maps fields to the platform's messages."""

    def __init__(self, status, detail, errors=None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or {}


class Client:
    def __init__(self, url, token, timeout=30):
        self.base = url.rstrip("/") + "/api/v1/"
        self.token, self.timeout = token, timeout

    def request(self, method, path, body=None, query=None):
        data = None if body is None else json.dumps(body).encode()
        return self._send(method, path, data, "application/json", query)

    def upload(self, method, path, fields, files):
        """A multipart/form-data request: `fields` {name: text}, `files` {name: (file
        name, bytes)} (a site's folder, packed)."""
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                 f'{value}\r\n'.encode() for name, value in fields.items()]
        for name, (filename, content) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                         f'\r\n\r\n'.encode() + content + b"\r\n")
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self._send(method, path, data, f"multipart/form-data; boundary={boundary}")

    def _send(self, method, path, data, content_type, query=None):
        url = self.base + path.lstrip("/")
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/json",
            **({"Content-Type": content_type} if data is not None else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise _api_error(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(0, f"Cannot reach {self.base}: {reason}") from None
        return json.loads(raw) if raw else None

    def get(self, path, **query):
        return self.request("GET", path, query=query)

    def post(self, path, body=None):
        return self.request("POST", path, body if body is not None else {})

    def patch(self, path, body):
        return self.request("PATCH", path, body)

    def delete(self, path):
        return self.request("DELETE", path)

    def find(self, kind, name, team=None):
        """The user's site or machine named `name` (kind: "sites" or "vms"), of `team`
        (a slug, or "me": personal) if given."""
        found = self.get(f"{kind}/", name=name, **({"team": team} if team else {}))["results"]
        what = "site" if kind == "sites" else "machine"
        if not found:
            where = {None: "", "me": " of your own"}.get(team, f" in the team {team}")
            raise ApiError(404, f"You have no {what}{where} named {name}.")
        if len(found) > 1:  # issue #18: yours and a team's may share a name
            raise ApiError(409, f"More than one {what} you can see is named {name} (yours "
                                "and a team's): say which with --team SLUG (or --team me).")
        return found[0]


def _api_error(error):
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        body = {}
    detail = body.get("detail") or f"HTTP {error.code} {error.reason}"
    if error.code == 401:
        detail += " Log in again: herocool login --url URL --token TOKEN."
    return ApiError(error.code, detail, body.get("errors"))
