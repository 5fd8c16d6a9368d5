"""Real SMTP servers for the mail tests (aiosmtpd on free loopback ports)."""

from __future__ import annotations

import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.processes import ROOT, free_port, wait_for


class _Collector:
    """Keeps what arrives; refuses the recipients it is told to, with their replies."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.server.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.server.data_delay:
            time.sleep(self.server.data_delay)  # a slow server: holds this connection
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.server.lock:
            self.server.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        if self.server.quit_delay:
            time.sleep(self.server.quit_delay)  # took the message, then hangs before saying goodbye
        return "221 Bye"


class SmtpServer:
    """aiosmtpd in this process on ``port`` (a free one unless given): every message
    it accepts is in ``received`` as ``(recipients, parsed message)``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: dict[str, str] = {}
        self.data_delay = 0.0
        self.quit_delay = 0.0
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for recipients, message in self.received if address in recipients]

    def wait_for_message_to(self, address: str, *, timeout: float = 30) -> list[EmailMessage]:
        return wait_for(lambda: self.messages_to(address), timeout=timeout)


class Recorder:
    """aiosmtpd's handler in :class:`SmtpProcess`: each message it takes is written to
    ``<folder>/<n>.eml``. While ``<folder>/freeze-on-quit`` exists, the next client
    that says QUIT after its message finds the server frozen: the file is removed and
    the process stops itself (SIGSTOP) before answering, so the client waits, the
    message already taken. Loaded by ``python -m aiosmtpd -c tests.mailserver.Recorder <folder>``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def from_cli(cls, parser, *args) -> Recorder:
        return cls(Path(args[0]))

    async def handle_DATA(self, server, session, envelope):
        taken = len(list(self.folder.glob("*.eml")))
        (self.folder / f"{taken + 1}.eml.part").write_bytes(envelope.content)
        (self.folder / f"{taken + 1}.eml.part").rename(self.folder / f"{taken + 1}.eml")
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        armed = self.folder / "freeze-on-quit"
        if armed.exists():
            armed.unlink()
            os.kill(os.getpid(), signal.SIGSTOP)
        return "221 Bye"


class SmtpProcess:
    """aiosmtpd in a process of its own that a test may freeze (SIGSTOP: connections
    are accepted by the kernel, nothing ever answers) and thaw. With ``record_to``,
    it keeps what it takes there (:class:`Recorder`), and :meth:`freeze_on_next_quit`
    catches a sender right after its message was taken."""

    def __init__(self, *, record_to: Path | None = None) -> None:
        self.port = free_port()
        self.folder = record_to
        handler = ["tests.mailserver.Recorder", str(record_to)] if record_to else ["aiosmtpd.handlers.Sink"]
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}", "-c", *handler],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for(self._answers, timeout=15):
            self.close()
            raise RuntimeError(f"aiosmtpd did not start on {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(3) == b"220"
        except OSError:
            return False

    def freeze(self) -> None:
        os.kill(self.popen.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.popen.pid, signal.SIGCONT)

    def freeze_on_next_quit(self) -> None:
        (self.folder / "freeze-on-quit").touch()

    def frozen(self) -> bool:
        """Whether the process is stopped (by :meth:`freeze` or by itself)."""
        return Path(f"/proc/{self.popen.pid}/stat").read_text().rpartition(")")[2].split()[0] == "T"

    def messages(self) -> list[EmailMessage]:
        """What it took, in order (with ``record_to``)."""
        files = sorted(self.folder.glob("*.eml"), key=lambda path: int(path.name.split(".")[0]))
        return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]

    def close(self) -> None:
        if self.popen.poll() is None:
            self.thaw()
            self.popen.kill()
            self.popen.wait(timeout=10)
