"""What every API view shares: token scopes, the changes rate limit, cursor pages and
one shape of error, {"detail": "...", "errors": {field: [messages]}}."""
from django.conf import settings
from rest_framework import exceptions, pagination, permissions, throttling

from .ratelimit import _parse, allow

NOT_OURS = "Not found."


class Refused(exceptions.APIException):
    """The platform cannot do it now (a deployment in flight, a quota): 409, and the
    same message the page shows."""

    status_code = 409
    default_code = "refused"


def invalid(form):
    """A form's errors as the API's 400: the same messages the page shows."""
    errors = {field: [e["message"] for e in found]
              for field, found in form.errors.get_json_data().items()}
    general = errors.pop("__all__", [])
    exc = exceptions.ValidationError()
    exc.detail = {"detail": " ".join(general) or "Check the fields in errors.",
                  "errors": errors | ({"non_field_errors": general} if general else {})}
    return exc


class TokenScopes(permissions.BasePermission):
    """A signed-in user (token or session). Every token reads; a change needs the scope
    its view (or the object: a VM's deployment needs `machines`) asks for."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return self._allowed(request, getattr(view, "write_scope", None))

    def has_object_permission(self, request, view, obj):
        scope_of = getattr(view, "scope_of", None)
        return self._allowed(request, scope_of(obj) if scope_of else None)

    def _allowed(self, request, scope):
        token = request.auth
        if request.method in permissions.SAFE_METHODS or token is None or scope is None:
            return True
        if token.allows(scope):
            return True
        self.message = f"This token does not have the {scope} scope."
        return False


class ChangesThrottle(throttling.BaseThrottle):
    """The same per-user limit on changes as the pages (RATE_LIMIT_CHANGES), counted
    in the same window: a script cannot do more than a browser."""

    def allow_request(self, request, view):
        if request.method in permissions.SAFE_METHODS or not request.user.is_authenticated:
            return True
        return allow("changes", request.user.pk, settings.RATE_LIMIT_CHANGES)

    def wait(self):
        return _parse(settings.RATE_LIMIT_CHANGES)[1]


class NewestFirst(pagination.CursorPagination):
    """Newest first by key (the model's own newest_field, then id), `?cursor=` to go on:
    a page costs the same however deep, and rows added meanwhile never shift it."""

    page_size_query_param = "limit"
    max_page_size = 200

    def get_ordering(self, request, queryset, view):
        return (f"-{queryset.model.newest_field}", "-id")


def exception_handler(exc, context):
    """DRF's answer, reshaped so every error has `detail` (a sentence) and `errors`."""
    from rest_framework import views  # not at import: rest_framework.views imports us

    response = views.exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.Throttled):
        limit, window = _parse(settings.RATE_LIMIT_CHANGES)
        data = {"detail": f"Too many changes: at most {limit} every {window} seconds. "
                          "Try again shortly."}
    elif isinstance(data, list):
        data = {"detail": " ".join(str(d) for d in data)}
    elif "detail" not in data:  # a serializer's field errors
        data = {"detail": "Check the fields in errors.", "errors": data}
    response.data = {"errors": {}, **data}
    return response
