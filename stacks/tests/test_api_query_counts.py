"""The API's lists read a fixed number of queries, however many rows they show."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sites.models import Site

from .apiclient import token_for
from .test_query_counts import add_resources

pytestmark = pytest.mark.django_db

LISTS = ["sites/", "vms/", "deployments/", "history"]
MAX_QUERIES = 8


def count_queries(client, path, token):
    if path == "history":
        path = f"sites/{Site.objects.get(name='site-0').code}/deployments/"
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], response


@pytest.mark.parametrize("path", LISTS)
def test_api_lists_do_not_grow_a_query_per_row(client, alice, path):
    token = token_for(alice, "read")
    add_resources(alice, 3)
    count_queries(client, path, token)  # warm: content types
    few, few_sql, _ = count_queries(client, path, token)
    add_resources(alice, 27, start=3)
    many, many_sql, response = count_queries(client, path, token)
    assert len(response.json()["results"]) >= (1 if path == "history" else 30)
    assert many == few, f"{path}: {few} queries for 3, {many} for 30:\n" + "\n".join(many_sql)
    assert few <= MAX_QUERIES, "\n".join(few_sql)
