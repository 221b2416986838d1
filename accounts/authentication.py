"""`Authorization: Bearer <token>` for the API: a personal access token that is neither
expired nor revoked authenticates its user; anything else is a 401."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from herocool_project.clientaddr import client_address

from .models import Token

# One message for every refused token: a caller learns nothing about which tokens exist.
REFUSED = "The token is invalid, expired or revoked."


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, text = header.partition(" ")
        if keyword != self.keyword:
            return None  # another scheme: not ours to judge
        token = Token.find(text.strip())
        if token is None or not token.is_usable:
            raise exceptions.AuthenticationFailed(REFUSED)
        token.note_use(client_address(request._request))  # as the rate limits see it
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document names this scheme: HTTP bearer."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal access token made on the account page."}
