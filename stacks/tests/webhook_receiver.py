"""Test helpers for notifications: a webhook receiver on loopback (a real HTTP server in
a thread) and a real RQ worker for the notifications queue."""
import http.server
import json
import threading
import time

import pytest


class Receiver:
    """Answers each POST with the next of `statuses` (the last one repeats) and keeps
    every request: (time, path, headers, body)."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((time.time(), self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 \
                    else receiver.statuses[0]
                reply = json.dumps({"seen": len(receiver.requests)}).encode()
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/herocool"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    """A receiver on loopback, reachable by deliveries (the test-only setting on), with
    a back-off of one second; set `.statuses` to choose its answers."""
    settings.HEROCOOL_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS = True
    settings.WEBHOOK_BACKOFF = (1, 1)
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def notify_queue(settings):
    import django_rq

    q = django_rq.get_queue(settings.NOTIFY_QUEUE)
    q.empty()
    yield q
    q.empty()


@pytest.fixture
def run_notifications(notify_queue):
    """Run every queued notification job with a real (non-forking) RQ worker under our
    rules (stacks/rqworker.py); returns how many were queued."""
    from stacks.rqworker import HerocoolSimpleWorker

    def run():
        before = notify_queue.count
        HerocoolSimpleWorker([notify_queue], connection=notify_queue.connection).work(
            burst=True)
        return before

    return run


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback (aiosmtpd), with Django's SMTP backend pointed at
    it; yields the list of messages (email.message.Message) it received."""
    import socket
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = message_from_bytes(envelope.original_content)
            received.append((envelope.rcpt_tos, message))
            return "250 Message accepted for delivery"

    with socket.socket() as probe:  # aiosmtpd 1.4 needs a real port, not 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = \
        False, "", ""
    settings.DEFAULT_FROM_EMAIL = "herocool@example.net"
    yield received
    controller.stop()
