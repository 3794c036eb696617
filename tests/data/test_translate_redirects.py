"""The Google backend's API key never reaches a host other than the configured endpoint, redirects included.

Two real loopback HTTP servers: the configured endpoint answers with a redirect to the other one (another
port, and another host name for the same machine), which records every request's headers.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prom_bench.data.backends import GoogleTranslateBackend
from prom_bench.errors import UserError

from .conftest import FAKE_KEY


class _Server:
    def __init__(self, handler_factory):
        self.seen: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_factory(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _recorder(owner):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _record(self):
            owner.seen.append(dict(self.headers))
            body = b'{"data": {"translations": [{"translatedText": "x"}]}}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _record

    return Handler


def _redirector(location: str, status: int):
    def factory(owner):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                owner.seen.append(dict(self.headers))
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    return factory


@pytest.fixture
def other_host():
    server = _Server(_recorder)
    yield server
    server.close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_redirect_to_another_host_never_carries_the_key(status, host, other_host, monkeypatch):
    monkeypatch.setenv("GOOGLE_TRANSLATE_API_KEY", FAKE_KEY)
    redirector = _Server(_redirector(f"http://{host}:{other_host.port}/language/translate/v2", status))
    try:
        backend = GoogleTranslateBackend(
            endpoint=f"http://127.0.0.1:{redirector.port}/language/translate/v2", max_retries=0
        )
        with pytest.raises(UserError) as caught:
            backend.translate(["Hello"], "en", "th")
    finally:
        redirector.close()
    message = str(caught.value)
    assert "\n" not in message and FAKE_KEY not in message
    assert redirector.seen and redirector.seen[0].get("X-Goog-Api-Key") == FAKE_KEY  # the configured host has it
    assert other_host.seen == []  # the other host was never contacted: no key, no text
    if status in (301, 302, 303):  # urllib would have followed these; refused, naming both hosts
        assert "redirected" in message and f"{host}:{other_host.port}" in message


def _moved_within(owner):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # the old path moved: 302 to the new one on this same origin
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{owner.port}/new/v2")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            _recorder(owner)._record(self)

    return Handler


def test_a_redirect_within_the_configured_host_is_followed(monkeypatch):
    """Same scheme, host and port: the key may go along, it is the endpoint the user configured."""
    monkeypatch.setenv("GOOGLE_TRANSLATE_API_KEY", FAKE_KEY)
    server = _Server(_moved_within)
    try:
        backend = GoogleTranslateBackend(endpoint=f"http://127.0.0.1:{server.port}/old/v2", max_retries=0)
        assert backend.translate(["Hello"], "en", "th") == ["x"]
    finally:
        server.close()
    assert [h.get("X-Goog-Api-Key") for h in server.seen] == [FAKE_KEY]
