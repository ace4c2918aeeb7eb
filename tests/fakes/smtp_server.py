"""A small SMTP server on 127.0.0.1 for the tests (RFC 5321, the part ``smtplib``
speaks): ``EHLO``/``HELO``, ``STARTTLS`` (when given a TLS context), ``AUTH PLAIN`` /
``AUTH LOGIN`` (when given credentials), ``MAIL``, ``RCPT``, ``DATA`` (dot-unstuffed),
``RSET``, ``NOOP``, ``QUIT``. It records every command line it reads and every message
it accepts (:class:`Received`), so a test can check the envelope, the headers and that
nothing was smuggled in. ``refuse_rcpt`` and ``fail_data`` make it answer errors.

    with SmtpServer() as server:
        ... send to 127.0.0.1:server.port ...
        server.messages[0].message["To"]
"""

from __future__ import annotations

import base64
import email
import email.policy
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

MAX_LINE = 4096
MAX_DATA = 1024 * 1024


@dataclass
class Received:
    """One accepted message: the envelope sender and recipients, the raw data
    (dot-unstuffed, CRLF line ends) and whether it came over TLS, after which login."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    user: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    """The server (start with ``with``). ``tls``: offer STARTTLS with this server-side
    context; ``credentials``: ``(user, password)`` offered as AUTH and required before
    ``MAIL`` when set; ``refuse_rcpt``: answer 550 to every RCPT; ``fail_data``: answer
    451 after DATA."""

    tls: ssl.SSLContext | None = None
    credentials: tuple[str, str] | None = None
    refuse_rcpt: bool = False
    fail_data: bool = False
    messages: list[Received] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    port: int = 0
    _server: Any = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> SmtpServer:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                _Session(owner, self.connection).run()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Session:
    def __init__(self, server: SmtpServer, conn: socket.socket) -> None:
        self.server = server
        self.conn = conn
        self.file = conn.makefile("rb")
        self.tls = False
        self.user: str | None = None
        self.mail_from: str | None = None
        self.rcpt: list[str] = []

    def send(self, line: str) -> None:
        self.conn.sendall(line.encode() + b"\r\n")

    def readline(self) -> str | None:
        raw = self.file.readline(MAX_LINE)
        if not raw:
            return None
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def run(self) -> None:
        self.send("220 fake.smtp.test ESMTP ready")
        while (line := self.readline()) is not None:
            self.server.commands.append(line)
            verb, _, arg = line.partition(" ")
            handler = getattr(self, f"do_{verb.upper()}", None)
            if handler is None:
                self.send("500 command not recognised")
            elif handler(arg) is False:
                return

    def do_EHLO(self, arg: str) -> None:
        lines = ["fake.smtp.test", "8BITMIME", "SIZE 1048576"]
        if self.server.tls is not None and not self.tls:
            lines.append("STARTTLS")
        if self.server.credentials is not None:
            lines.append("AUTH PLAIN LOGIN")
        for line in lines[:-1]:
            self.send(f"250-{line}")
        self.send(f"250 {lines[-1]}")

    def do_HELO(self, arg: str) -> None:
        self.send("250 fake.smtp.test")

    def do_STARTTLS(self, arg: str) -> None:
        if self.server.tls is None or self.tls:
            self.send("502 STARTTLS not offered")
            return
        self.send("220 go ahead")
        self.conn = self.server.tls.wrap_socket(self.conn, server_side=True)
        self.file = self.conn.makefile("rb")
        self.tls = True
        self.mail_from, self.rcpt, self.user = None, [], None

    def do_AUTH(self, arg: str) -> None:
        if self.server.credentials is None:
            self.send("502 AUTH not offered")
            return
        mechanism, _, initial = arg.partition(" ")
        if mechanism.upper() == "PLAIN":
            if not initial:
                self.send("334 ")
                initial = self.readline() or ""
            try:
                _, user, password = base64.b64decode(initial).decode().split("\x00")
            except ValueError:
                self.send("501 malformed")
                return
        elif mechanism.upper() == "LOGIN":
            self.send("334 " + base64.b64encode(b"Username:").decode())
            user = base64.b64decode(self.readline() or "").decode()
            self.send("334 " + base64.b64encode(b"Password:").decode())
            password = base64.b64decode(self.readline() or "").decode()
        else:
            self.send("504 mechanism not supported")
            return
        if (user, password) == self.server.credentials:
            self.user = user
            self.send("235 authenticated")
        else:
            self.send("535 authentication failed")

    def do_MAIL(self, arg: str) -> None:
        if self.server.credentials is not None and self.user is None:
            self.send("530 authentication required")
            return
        self.mail_from, self.rcpt = _address(arg, "FROM:"), []
        self.send("250 sender ok")

    def do_RCPT(self, arg: str) -> None:
        if self.mail_from is None:
            self.send("503 MAIL first")
            return
        if self.server.refuse_rcpt:
            self.send("550 no such user")
            return
        self.rcpt.append(_address(arg, "TO:"))
        self.send("250 recipient ok")

    def do_DATA(self, arg: str) -> None:
        if self.mail_from is None or not self.rcpt:
            self.send("503 need MAIL and RCPT")
            return
        self.send("354 end with <CRLF>.<CRLF>")
        lines: list[bytes] = []
        size = 0
        while True:
            raw = self.file.readline(MAX_LINE)
            if not raw:
                return
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]  # dot-unstuffing
            size += len(raw)
            if size > MAX_DATA:
                self.send("552 too big")
                return
            lines.append(raw)
        if self.server.fail_data:
            self.send("451 try again later")
        else:
            self.server.messages.append(Received(self.mail_from, list(self.rcpt), b"".join(lines), self.tls,
                                                 self.user))
            self.send("250 queued")
        self.mail_from, self.rcpt = None, []

    def do_RSET(self, arg: str) -> None:
        self.mail_from, self.rcpt = None, []
        self.send("250 reset")

    def do_NOOP(self, arg: str) -> None:
        self.send("250 ok")

    def do_QUIT(self, arg: str) -> bool:
        self.send("221 bye")
        return False


def _address(arg: str, prefix: str) -> str:
    value = arg[len(prefix):] if arg.upper().startswith(prefix) else arg
    value = value.strip().split(" ", 1)[0]
    return value.strip("<>")


def closed_port() -> int:
    """A loopback port nothing listens on (the mail server is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
