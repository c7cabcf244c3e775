"""A local Unix socket whose every connection is one run of a program: what the connection sends
is the program's standard input, what it prints comes back.

How the Docker engine is reached as another account (`become`): the engine's socket is the
engine's root, which an SSH account usually may not open, so each connection of the Docker
client runs `sudo -n -u root docker system dial-stdio` (as the docker CLI's own `ssh://` hosts
run `docker system dial-stdio`), through the host's SSH connection or on this machine.

>>> relay = CommandRelay(["cat"])                          # doctest: +SKIP
>>> relay.path                                              # doctest: +SKIP
'/tmp/wa-relay-x1y2/engine.sock'
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from .children import ENVIRONMENT, telling_line

logger = logging.getLogger(__name__)

_CHUNK = 65536


class CommandRelay:
    def __init__(self, argv: list[str]):
        self.argv = argv
        self.failure: str | None = None      # the last line a run that failed printed
        self._folder = tempfile.mkdtemp(prefix="wa-relay-")
        self.path = f"{self._folder}/engine.sock"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(64)
        self._children: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def close(self) -> None:
        """No more connections; the runs still going are ended."""
        self._closed = True
        try:
            self._server.shutdown(socket.SHUT_RDWR)     # wakes the accepting thread
        except OSError:
            pass
        self._server.close()
        with self._lock:
            children = list(self._children)
        for child in children:
            child.terminate()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return                                   # closed
            threading.Thread(target=self._serve, args=(connection,), name="relay", daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        started = time.monotonic()
        errors = tempfile.TemporaryFile()               # a file, not a pipe: a chatty program never blocks on it
        try:
            child = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=errors, bufsize=0, env=ENVIRONMENT)
        except OSError as exc:
            self.failure = f"cannot run {self.argv[0]}: {exc.strerror or exc}"
            connection.close()
            errors.close()
            return
        with self._lock:
            self._children.add(child)
        sending = threading.Thread(target=_send, args=(connection, child.stdin), name="relay", daemon=True)
        sending.start()
        ended_here = False
        try:
            while data := os.read(child.stdout.fileno(), _CHUNK):
                connection.sendall(data)
        except OSError:
            ended_here = True                            # the client went away: not a failure
            child.terminate()
        child.wait()
        errors.seek(0)
        said = errors.read().decode("utf-8", "replace")
        errors.close()
        if child.returncode != 0 and not ended_here and not self._closed:
            self.failure = (telling_line(said) or f"{self.argv[0]} ended with status {child.returncode}")[:200]
        try:
            connection.shutdown(socket.SHUT_WR)         # the program is done, its failure known: so is the answer
        except OSError:
            pass
        sending.join()
        connection.close()
        logger.debug("relay: %s ... %s: status %s after %.3f s", self.argv[0], self.argv[-1], child.returncode,
                     time.monotonic() - started)
        for stream in (child.stdin, child.stdout):
            stream.close()
        with self._lock:
            self._children.discard(child)


def _send(connection: socket.socket, stdin) -> None:
    """The connection's bytes to the program, and its end as the end of the program's input."""
    try:
        while data := connection.recv(_CHUNK):
            view = memoryview(data)
            while view:
                view = view[os.write(stdin.fileno(), view):]
    except OSError:
        pass                                             # either side gone: nothing more to carry
    try:
        stdin.close()
    except OSError:
        pass
