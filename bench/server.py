"""A small threaded WSGI server for the load benchmark (stdlib only): wsgiref with a
fixed pool of threads, each keeping its own database connection, like a gthread
worker. Listens on 127.0.0.1 only and logs nothing per request.

    python bench/guard.py bench/server.py --port 8123 --threads 16
"""
import argparse
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class PoolWSGIServer(WSGIServer):
    request_queue_size = 512  # 50 clients connecting at once must not overflow the backlog

    def __init__(self, address, handler, threads):
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - one broken connection must not stop the pool
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    server = PoolWSGIServer(("127.0.0.1", args.port), QuietHandler, args.threads)
    server.set_app(app)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serving on http://127.0.0.1:{args.port}/ with {args.threads} threads",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    main()
