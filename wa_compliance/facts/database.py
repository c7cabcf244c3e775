"""Facts of the database: the login db.env gives (with its TLS files), one read-only session,
the server and the messages table."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ..errors import FactUnavailable
from ..transport.database import DatabaseSession, DbLogin, DbTls, ServerInfo, TableSize, TlsFailed
from .cached import fact

ENGINES = ("MYSQL", "PGSQL")
TLS_VARIABLES = ("WA_DB_SSL_CA", "WA_DB_SSL_CERT", "WA_DB_SSL_KEY")


class DatabaseFacts:
    @fact
    def db_login(self) -> DbLogin:
        """db.env's credentials, reached as the profile's `database` override says."""
        values, override = self.db_env.values, self.profile.database
        engine = (values.get("WA_DB_ENGINE") or "").upper()
        if engine not in ENGINES:
            raise FactUnavailable(f"WA_DB_ENGINE {values.get('WA_DB_ENGINE')!r} is not one of MYSQL, PGSQL", self.db_env.path)
        port = override.port or _port(values.get("WA_DB_PORT"))
        host = override.host or values.get("WA_DB_HOSTNAME")
        user = override.user or values.get("WA_DB_USERNAME")
        if not (host and port and user):
            raise FactUnavailable("db.env lacks a usable WA_DB_HOSTNAME, WA_DB_PORT or WA_DB_USERNAME", self.db_env.path)
        return DbLogin(engine, host, port, user, self.login_password or "")

    @property
    def db_password(self) -> str | None:
        """The client's own password (ENV-010): db.env's, or password_env's when the profile
        says db.env does not hold it."""
        database = self.profile.database
        if database.password_env and not database.user:
            return os.environ.get(database.password_env)
        return self.db_env.values.get("WA_DB_PASSWORD")

    @property
    def login_password(self) -> str | None:
        """What the audit logs in with: password_env's (the audit account's, with database.user)."""
        if self.profile.database.password_env:
            return os.environ.get(self.profile.database.password_env)
        return self.db_env.values.get("WA_DB_PASSWORD")

    def _tls_paths(self) -> dict[str, str]:
        """db.env's WA_DB_SSL_* that are set (paths inside the containers); MySQL only."""
        try:
            values = self.db_env.values
        except FactUnavailable:
            return {}
        if (values.get("WA_DB_ENGINE") or "").upper() != "MYSQL":
            return {}
        return {name: values[name] for name in TLS_VARIABLES if values.get(name)}

    def _tls_container(self):
        """The Coreapp whose files the client's TLS settings are read from (the first running)."""
        try:
            return next((c for c in self.containers if c.role == "coreapp" and c.running), None)
        except FactUnavailable:
            return None

    @fact
    def db_tls(self) -> DbTls | None:
        """TLS as the client connects with it: db.env's WA_DB_SSL_CA/_CERT/_KEY name files inside
        the containers (Meta's AWS template: /opt/certs/db-ca.pem), read in the Coreapp's one exec."""
        paths = self._tls_paths()
        if not paths:
            return None
        described = ", ".join(f"{name}={path}" for name, path in paths.items())
        coreapp = self._tls_container()
        if coreapp is None:
            raise FactUnavailable(f"db.env sets {described}, but no Coreapp container runs to read them in", "tls")
        files = self.inside(coreapp).tls_files
        contents = {}
        for name, path in paths.items():
            found = files.get(path, "missing")
            if isinstance(found, str):
                state = "does not exist" if found == "missing" else "cannot be read"
                raise TlsFailed(f"db.env's {name}={path} {state} in {coreapp.name}: the client cannot connect with "
                                "TLS either", path)
            contents[name] = found
        if ("WA_DB_SSL_CERT" in contents) != ("WA_DB_SSL_KEY" in contents):
            raise TlsFailed(f"db.env sets {described}: a client certificate needs both WA_DB_SSL_CERT and "
                            "WA_DB_SSL_KEY", "tls")
        return DbTls(contents.get("WA_DB_SSL_CA"), contents.get("WA_DB_SSL_CERT"), contents.get("WA_DB_SSL_KEY"),
                     described)

    @fact
    def db_session(self) -> DatabaseSession:
        """One session per audit: ENV-009 and GC-001 share its connection."""
        return DatabaseSession(self.db_login, self.db_tls)

    @fact(after="db_env")
    def database_server(self) -> ServerInfo:
        return self.db_session.server_info()

    @fact(after="db_env")
    def messages_table(self) -> TableSize:
        """The messages table: as the profile names it, else the one under WA_DB_NAME_PREFIX."""
        named = self.profile.database.messages_table
        if named:
            database, _, table = named.partition(".")
            found = self.db_session.table(database, table)
            if found is None:
                raise FactUnavailable(f"database.messages_table {named!r} does not exist on {self.db_login.url()}", named)
        else:
            prefix = self.db_env.values.get("WA_DB_NAME_PREFIX") or ""
            candidates = self.db_session.tables_named("messages", prefix)
            if not candidates:
                raise FactUnavailable(f"no table `messages` in the databases named {prefix or 'anything'}* on "
                                      f"{self.db_login.url()}: set database.messages_table in the profile", "messages")
            if len(candidates) > 1:
                names = ", ".join(c.name for c in candidates)
                raise FactUnavailable(f"several candidate messages tables ({names}): name the right one in the profile "
                                      f"key database.messages_table", "messages")
            found = candidates[0]
        if self.exact_counts:
            rows = self.db_session.exact_count(found.database, found.table)
            return TableSize(found.database, found.table, rows, "SELECT COUNT(*) (--exact-counts)")
        return found

    @fact
    def database_namespace(self) -> tuple[tuple, str]:
        """(the database server, WA_DB_NAME_PREFIX): two deployments with the same one collide
        (ENV-006 compares every deployment's with every other's: computed once)."""
        return self.db_server_key, self.db_env.values.get("WA_DB_NAME_PREFIX") or ""

    @property
    def db_server_key(self) -> tuple:
        """Which database server this is, as comparable across hosts of one run. Loopback addresses
        and single-label names (Compose's `db`) only mean something on their own machine, so they
        are qualified by the target."""
        login = self.db_login
        address = login.host.lower()
        local = address in ("localhost", "::1") or address.startswith("127.") or "." not in address and ":" not in address
        machine = (urlsplit(self.profile.target).hostname or "local") if local else ""
        return (login.engine, machine, address, login.port)


def _port(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and 0 < int(text) < 65536 else None
