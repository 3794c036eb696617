"""Helpers for the data tests: run the CLI in-process, a private cache, a fake Google endpoint."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prom_bench.cli import main

FAKE_KEY = "test-key-0123456789"


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Every test gets its own cache (translations, hub pins)."""
    home = tmp_path / "home"
    monkeypatch.setenv("PROM_BENCH_HOME", str(home))
    return home


@pytest.fixture
def cli(capsys):
    """``cli(*args) -> (exit_code, stdout, stderr)``, through ``prom_bench.cli.main`` like the console script."""

    def run(*args):
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


class FakeGoogle:
    """Google Cloud Translation v2 on 127.0.0.1: records every request; can fail or stall on request N."""

    def __init__(self):
        self.requests: list[list[str]] = []  # q lists, in arrival order
        self.answered: list[list[str]] = []
        self.keys: set[str] = set()
        self.stall_after: int | None = None  # requests after this many block until release
        self.release = threading.Event()
        self.failures: list[tuple[int, dict]] = []  # (status, error body) to return first, in order
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.keys.add(self.headers.get("X-Goog-Api-Key", ""))
                    fake.requests.append(list(body["q"]))
                    number = len(fake.requests)
                    failure = fake.failures.pop(0) if fake.failures else None
                if failure:
                    return self._send(failure[0], {"error": failure[1]})
                if self.headers.get("X-Goog-Api-Key") != FAKE_KEY:
                    return self._send(
                        400,
                        {"error": {"code": 400, "message": "API key not valid.", "errors": [{"reason": "keyInvalid"}]}},
                    )
                if fake.stall_after is not None and number > fake.stall_after:
                    fake.release.wait(timeout=60)
                    return
                translations = [{"translatedText": f"แปล {text}"} for text in body["q"]]
                with fake.lock:
                    fake.answered.append(list(body["q"]))
                self._send(200, {"data": {"translations": translations}})

            def _send(self, status, payload):
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/language/translate/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def segments(self, which="requests") -> list[str]:
        return [text for batch in getattr(self, which) for text in batch]


@pytest.fixture
def fake_google(monkeypatch):
    fake = FakeGoogle()
    fake.thread.start()
    monkeypatch.setenv("GOOGLE_TRANSLATE_API_KEY", FAKE_KEY)
    yield fake
    fake.release.set()
    fake.server.shutdown()
    fake.server.server_close()
    fake.thread.join(timeout=5)
