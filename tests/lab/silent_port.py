"""A TCP listener on 127.0.0.1 that accepts connections and never says a word: the worst kind
of unreachable host (a refused port fails at once; this one only fails by timeout)."""

from __future__ import annotations

import contextlib
import socket
import threading


@contextlib.contextmanager
def silent_listener():
    """Yields the port; every connection is accepted, held open, and never answered."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                held.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()
