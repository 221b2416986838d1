"""Which Pulumi backend the settings choose, and how its URL is shown."""
from pathlib import Path

import pytest

from herocool_project.pulumi_backend import (backend_url, django_postgres_url, masked,
                                             postgres_url, without_password)

FILES = Path("/data/pulumi-state")


def choose(**environ):
    return backend_url(environ, table="herocool_pulumi_state", file_dir=FILES)


def test_sqlite_keeps_the_file_backend():
    assert choose() == "file:///data/pulumi-state"
    assert choose(DATABASE_URL="sqlite:////data/h.sqlite3") == "file:///data/pulumi-state"


def test_postgresql_database_gives_a_postgres_backend_in_the_same_server():
    url = choose(DATABASE_URL="postgresql://app:pw@db.internal:5433/herocool")
    assert url == ("postgres://app:pw@db.internal:5433/herocool"
                   "?sslmode=prefer&table=herocool_pulumi_state")


def test_a_role_of_its_own_and_ssl_settings_are_kept():
    url = choose(DATABASE_URL="postgres://app:pw@db/herocool",
                 HEROCOOL_PULUMI_DATABASE_URL="postgres://pulumi:other@db/herocool"
                                              "?sslmode=verify-full")
    assert url == ("postgres://pulumi:other@db/herocool"
                   "?sslmode=verify-full&table=herocool_pulumi_state")


def test_pulumi_backend_url_still_overrides():
    assert choose(DATABASE_URL="postgres://app@db/h",
                  PULUMI_BACKEND_URL="s3://bucket") == "s3://bucket"


@pytest.mark.parametrize("table", ["pulumi_state; drop table x", "Upper", "a" * 41, ""])
def test_table_names_the_cli_could_not_use_safely_are_refused(table):
    with pytest.raises(ValueError, match="HEROCOOL_PULUMI_TABLE"):
        postgres_url("postgres://app@db/h", table=table)


def test_the_password_is_masked_and_can_be_taken_out():
    url = "postgres://app:p%40ss%3Aword@db:5432/h?table=t"
    assert masked(url) == "postgres://app:****@db:5432/h?table=t"
    assert "p%40ss" not in masked(url)
    assert without_password(url) == ("postgres://app@db:5432/h?table=t", "p@ss:word")
    assert masked("file:///data/pulumi-state") == "file:///data/pulumi-state"
    assert without_password("postgres://app@db/h") == ("postgres://app@db/h", None)


def test_a_django_database_entry_becomes_a_url():
    db = {"USER": "herocool", "PASSWORD": "", "HOST": "127.0.0.1", "PORT": "5432",
          "NAME": "test_herocool"}
    assert django_postgres_url(db, table="t1") == (
        "postgres://herocool@127.0.0.1:5432/test_herocool?sslmode=prefer&table=t1")
    socket = {**db, "HOST": "/run/pg", "PORT": "", "PASSWORD": "s e"}
    assert django_postgres_url(socket, table="t1") == (
        "postgres://herocool:s%20e@/test_herocool?host=%2Frun%2Fpg&sslmode=prefer&table=t1")
