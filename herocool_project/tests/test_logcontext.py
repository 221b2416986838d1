"""Log lines carry time, level, logger, request id, user and deployment, as text or JSON."""
import io
import json
import logging
import os
import re
import subprocess
import sys
import uuid

import pytest

from herocool_project import logcontext

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["text", "json"])
def captured(request):
    """Lines logged through the handler LOGGING builds, in each format."""
    config = logcontext.logging_config(request.param)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logcontext.ContextFilter())
    handler.setFormatter(config["formatters"][request.param]["()"]())
    root = logging.getLogger()
    root.addHandler(handler)
    yield request.param, lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)


def fields(log_format, line):
    """The context fields of one line, whatever the format."""
    if log_format == "json":
        entry = json.loads(line)
        return {k: entry.get(k) for k in ("request_id", "user_id", "deployment")}
    found = dict(re.findall(r"(req|user|dep)=(\S+?)[\] ]", line))
    return {"request_id": found.get("req"), "user_id": found.get("user"),
            "deployment": found.get("dep")}


def test_a_request_gets_an_id_echoed_in_the_response(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_safe_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9_x"})
    assert response["X-Request-ID"] == "lb-7f3a.9_x"


@pytest.mark.parametrize("offered", ["x" * 65, "a b", "<script>", "-starts-with-dash",
                                     "id\nforged line", "é"])
def test_an_unsafe_incoming_request_id_is_replaced(offered):
    from django.test import RequestFactory

    request = RequestFactory().get("/healthz", headers={"X-Request-ID": offered})
    assert re.fullmatch(r"[0-9a-f]{32}", logcontext.request_id_for(request))


def test_request_lines_carry_the_request_id_and_the_user(captured, alice, client):
    log_format, lines = captured
    client.force_login(alice)
    missing = f"/sites/{uuid.uuid4()}/"
    response = client.get(missing, headers={"X-Request-ID": "req-one"})
    assert response.status_code == 404
    line = next(line for line in lines() if missing in line)  # django.request's warning
    assert fields(log_format, line) == {"request_id": "req-one", "user_id": str(alice.pk),
                                        "deployment": None}
    if log_format == "json":
        entry = json.loads(line)
        assert entry["level"] == "WARNING" and entry["logger"] == "django.request"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    else:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING django.request "
                        r"\[req=req-one user=\d+ client=127\.0\.0\.1\] Not Found: ", line)


def test_anonymous_requests_have_no_user_and_logging_costs_no_query(
        captured, client, django_assert_num_queries):
    log_format, lines = captured
    with django_assert_num_queries(0):
        client.get("/no-such-page/", headers={"X-Request-ID": "req-two"})
    line = next(line for line in lines() if "/no-such-page/" in line)
    assert fields(log_format, line)["request_id"] == "req-two"
    assert fields(log_format, line)["user_id"] is None


def test_request_bodies_are_not_logged(captured, client):
    _, lines = captured
    client.post("/no-such-page/", {"password": "hunter2-secret"},
                headers={"Authorization": "Bearer token-secret"})
    text = "\n".join(lines())
    assert "/no-such-page/" in text
    assert "hunter2-secret" not in text and "token-secret" not in text


def test_the_client_address_is_logged_once_the_request_has_one(captured, rf):
    log_format, lines = captured
    request = rf.get("/")
    request.client_address = "203.0.113.9"
    with logcontext.bind(request_id="req-three", request=request):
        logging.getLogger("herocool.test").info("with a client")
    line = next(line for line in lines() if "with a client" in line)
    if log_format == "json":
        assert json.loads(line)["client"] == "203.0.113.9"
    else:
        assert "[req=req-three client=203.0.113.9]" in line


def test_a_job_binds_its_deployment_and_user_until_it_ends(captured):
    log_format, lines = captured
    deploy = logging.getLogger("herocool.deploy")
    code = uuid.uuid4()
    with logcontext.bind(deployment=code, user=7):
        deploy.info("inside")
    deploy.info("after")
    inside, after = (next(line for line in lines() if word in line)
                     for word in ("inside", "after"))
    assert fields(log_format, inside) == {"request_id": None, "user_id": "7",
                                          "deployment": str(code)}
    assert fields(log_format, after) == {"request_id": None, "user_id": None,
                                         "deployment": None}


def test_exceptions_are_kept_with_the_line(captured):
    log_format, lines = captured
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("herocool.test").exception("it failed")
    text = "\n".join(lines())
    if log_format == "json":
        entry = json.loads(lines()[-1])
        assert entry["message"] == "it failed" and "ValueError: boom" in entry["exception"]
    else:
        assert "it failed" in text and "ValueError: boom" in text


def run_with_log_format(settings, value):
    script = ("import django, logging; django.setup(); "
              "logging.getLogger('herocool.test').warning('configured')")
    env = {**os.environ, "LOG_FORMAT": value, "DJANGO_SETTINGS_MODULE": "herocool_project.settings"}
    return subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)


def test_log_format_json_makes_django_log_json_lines(settings):
    done = run_with_log_format(settings, "json")
    entry = json.loads(done.stderr.strip().splitlines()[-1])
    assert entry["message"] == "configured" and entry["logger"] == "herocool.test"


def test_the_default_log_format_is_text_with_time_and_level(settings):
    done = run_with_log_format(settings, "text")
    assert re.search(r"Z WARNING herocool.test configured$", done.stderr.strip())


def test_an_unknown_log_format_stops_start_up(settings):
    done = run_with_log_format(settings, "xml")
    assert done.returncode != 0 and "LOG_FORMAT must be text or json" in done.stderr
