"""What the audit contacts, logged with the standard `logging` module, a logger per transport
module (`wa_compliance.transport.ssh`, `.host`, `.containers`, `.database`, `.api`,
`.prometheus`): the target, what was asked and how long it took, so that
`pytest checks --host=NAME --log-cli-level=DEBUG` shows every round trip. Only names go in a
line — targets, paths, container names, HTTP methods and paths, the first word of a query —
never an argument that could hold a secret."""

from __future__ import annotations

import contextlib
import functools
import logging
import time


@contextlib.contextmanager
def traced(logger: logging.Logger, what: str):
    """Log `what` and its duration at DEBUG; a failure is logged with its type, then raised."""
    started = time.monotonic()
    try:
        yield
    except BaseException as exc:
        logger.debug("%s: %s after %.3f s", what, type(exc).__name__, time.monotonic() - started)
        raise
    logger.debug("%s: %.3f s", what, time.monotonic() - started)


def logged(describe):
    """Decorate a transport method so that each call is traced under its module's logger, as
    `describe(*arguments)` names it."""
    def wrap(method):
        logger = logging.getLogger(method.__module__)

        @functools.wraps(method)
        def call(*args, **kwargs):
            with traced(logger, describe(*args, **kwargs)):
                return method(*args, **kwargs)
        return call
    return wrap
