"""TLS contexts shared by every connection of a run. Building one that verifies loads the
system's CA bundle: ~20 ms of CPU, paid per API client and per MySQL session until they shared
it (a 200-deployment run built ~400). A context is safe to share between threads."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def verifying() -> ssl.SSLContext:
    """As `ssl.create_default_context()`: the system's CAs, the host name checked."""
    return ssl.create_default_context()


@functools.cache
def unverified() -> ssl.SSLContext:
    """Encrypted, nothing verified (profile `api.verify_tls: false`; MySQL's PREFERRED mode):
    no CA to load, since none is used."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
