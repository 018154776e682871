"""A loopback TCP proxy in front of the test server that can lose answers or stall on request.

``lose_next_answer()``: the next bytes the server sends on any open connection are dropped and
that connection is cut, after the server has acted on the request (a write commits, and the
client never hears so). ``stall()``: connections open now stop relaying in both directions (a
stalled server or a partition); connections made later work.
"""

import contextlib
import socket
import threading
from urllib.parse import parse_qs, urlsplit


def server_address(url: str) -> tuple[int, str | tuple[str, int]]:
    """The socket family and address of the server a libpq URL names."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    port = int(query.get("port", [parts.port or 5432])[0])
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET, (host, port)


class Proxy:
    def __init__(self, url: str) -> None:
        self.family, self.target = server_address(url)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._lose = False
        self.lost = 0
        self.requests: list[bytes] = []  # every chunk a client's write delivered, in order
        self._pairs: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, user: str, database: str) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def lose_next_answer(self) -> None:
        with self._lock:
            self._lose = True

    def stall(self) -> None:
        with self._lock:
            for _, _, running in self._pairs:
                running.clear()

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for client, server, running in self._pairs:
                running.set()
                for s in (client, server):
                    with contextlib.suppress(OSError):
                        s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(self.family)
            server.connect(self.target)
            running = threading.Event()
            running.set()
            with self._lock:
                self._pairs.append((client, server, running))
            for args in ((client, server, running, False), (server, client, running, True)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, running: threading.Event,
              answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                running.wait()
                if answers and self._take_loss():
                    break
                if not answers:
                    self.requests.append(data)
                target.sendall(data)
        for s in (source, target):
            with contextlib.suppress(OSError):
                s.close()

    def _take_loss(self) -> bool:
        with self._lock:
            lose, self._lose = self._lose, False
            self.lost += lose
            return lose
