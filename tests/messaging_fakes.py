"""Stand-ins for the providers, on loopback: an HTTP SMS gateway and an SMTP server (aiosmtpd)."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass
class GatewayLog:
    """What the fake gateway saw, and how it answers: `fail_next` 500s first, each after `delay`."""

    requests: list[dict] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # bodies answered 200
    fail_next: int = 0
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeSmsGateway:
    """A local HTTP server standing in for an SMS gateway."""

    def __init__(self) -> None:
        self.log = GatewayLog()
        log = self.log

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                time.sleep(log.delay)
                with log.lock:
                    log.requests.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                         "body": body})
                    failing = log.fail_next > 0
                    if failing:
                        log.fail_next -= 1
                    else:
                        log.accepted.append(body)
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "ERROR"}' if failing else b'{"status": "OK"}')

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeSmtpServer:
    """aiosmtpd on loopback, keeping every message it receives."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def messages(self) -> list[tuple[str, list[str], bytes]]:
        return self.inbox.messages

    def close(self) -> None:
        self.controller.stop()
