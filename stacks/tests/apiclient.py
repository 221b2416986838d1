"""Calls to the API of a live server over real HTTP, as a script would make them."""
import json
import urllib.error
import urllib.request
from datetime import timedelta

from accounts.models import Token


def token_for(user, *scopes, days=30, name=None):
    """The text of a new token of `user` with these scopes."""
    return Token.issue(user, name or "-".join(scopes) or "t", scopes or ("read",),
                       timedelta(days=days))[1]


class Api:
    def __init__(self, base_url, token=None):
        self.base_url, self.token = base_url.rstrip("/"), token

    def __call__(self, method, path, body=None, headers=None):
        """(status, decoded JSON body or None, headers)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}/api/v1/{path.lstrip('/')}",
                                         data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _json(response.read()), response.headers
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read()), error.headers

    def upload(self, method, path, fields, files):
        """A multipart/form-data call (a site's folder), encoded by the CLI's own client."""
        from herocool_cli.client import ApiError, Client

        try:
            return 200, Client(self.base_url, self.token).upload(method, path, fields, files), {}
        except ApiError as error:
            return error.status, {"detail": error.detail, "errors": error.errors}, {}

    def get(self, path):
        return self("GET", path)

    def post(self, path, body=None):
        return self("POST", path, body if body is not None else {})


def _json(raw):
    return json.loads(raw) if raw else None
