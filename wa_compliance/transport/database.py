"""Read-only access to the deployment's database server (MySQL/MariaDB or PostgreSQL).

>>> session = DatabaseSession(DbLogin("MYSQL", "127.0.0.1", 3306, "biz_wa", secret))
>>> session.server_info().version
'10.11.19-MariaDB-0+deb12u1'
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
from dataclasses import dataclass, field

from ..errors import FactUnavailable
from ..timeouts import COMMAND_SECONDS, CONNECT_SECONDS
from . import tls as tls_contexts
from .trace import logged

# Server error codes that mean "reached the server, it refused these credentials".
MYSQL_AUTH_ERRORS = {1044, 1045, 1698}
PGSQL_AUTH_STATES = {"28000", "28P01"}


@dataclass(frozen=True)
class DbLogin:
    engine: str          # MYSQL | PGSQL
    host: str
    port: int
    user: str
    password: str = field(repr=False)

    def url(self) -> str:
        """Where, never with the password: 'mysql://biz_wa@127.0.0.1:3306'."""
        scheme = "mysql" if self.engine == "MYSQL" else "postgresql"
        return f"{scheme}://{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class ServerInfo:
    login: DbLogin
    version: str


class CredentialsRejected(FactUnavailable):
    """The server answered and refused the login (as opposed to being unreachable)."""


class TlsFailed(FactUnavailable):
    """The client's TLS settings cannot work: a file they name is not there, or the server's
    certificate does not verify against the CA they name."""


@dataclass(frozen=True)
class DbTls:
    """TLS as the client connects to MySQL with it (db.env's WA_DB_SSL_CA/_CERT/_KEY), the files'
    contents as read in the Coreapp. The key is only ever in memory."""

    ca: bytes | None = field(default=None, repr=False)
    cert: bytes | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)
    described: str = ""              # "WA_DB_SSL_CA=/opt/certs/db-ca.pem", for messages

    def context(self):
        """An SSLContext verifying the server's chain against the CA, as MySQL clients do with
        --ssl-ca (VERIFY_CA: the host name is not matched); without a CA, encrypted unverified."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        if self.ca:
            context.load_verify_locations(cadata=self.ca.decode("ascii", "replace"))
        else:
            context.verify_mode = ssl.CERT_NONE
        if self.cert:
            with _in_memory(self.cert) as cert, _in_memory(self.key or self.cert) as key:
                context.load_cert_chain(cert, key)
        return context


@contextlib.contextmanager
def _in_memory(data: bytes):
    """A path to `data` that never touches a disk (an anonymous memory file): the ssl module
    loads certificates and keys from paths only."""
    fd = os.memfd_create("wa-compliance-tls", os.MFD_CLOEXEC)
    try:
        os.write(fd, data)
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


@dataclass(frozen=True)
class TableSize:
    database: str
    table: str
    rows: int
    source: str          # where the number comes from, for the report

    @property
    def name(self) -> str:
        return f"{self.database}.{self.table}"


SYSTEM_DATABASES = {"mysql", "information_schema", "performance_schema", "sys",
                    "postgres", "template0", "template1"}


class DatabaseSession:
    """Read-only queries on one database server, over as few connections as the engine allows:
    one on MySQL (every schema is reachable from it); on PostgreSQL one to `postgres`, plus one
    per database a table is read in (pg_class is per database). Opened lazily, closed by close()."""

    def __init__(self, login: DbLogin, tls: DbTls | None = None):
        self.login, self.tls = login, tls
        self._connections: dict[str | None, object] = {}
        # a connection that could not be opened is not tried again in this audit: an
        # unreachable server costs its connect timeout once (ENV-009 and GC-001 share it)
        self._failures: dict[str | None, FactUnavailable] = {}
        self.opened = 0                      # connections opened, for the benchmark

    # -- what checks read --------------------------------------------------------------------
    def server_info(self) -> ServerInfo:
        if self.login.engine == "MYSQL":
            return ServerInfo(self.login, self._one(None, "SELECT VERSION()")[0])
        return ServerInfo(self.login, self._one("postgres", "SHOW server_version")[0])

    def tables_named(self, table: str, prefix: str) -> list[TableSize]:
        """Every `table` in the databases whose name starts with `prefix`, sized from the
        engine's statistics (never a scan)."""
        if self.login.engine == "MYSQL":
            rows = self._all(None, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                                   "WHERE TABLE_NAME = %s AND TABLE_SCHEMA LIKE %s AND TABLE_TYPE = 'BASE TABLE'",
                             (table, _like(prefix)))
            return [TableSize(d, t, int(n or 0), "information_schema.TABLES.TABLE_ROWS (an estimate)")
                    for d, t, n in rows if d not in SYSTEM_DATABASES]
        names = [d for (d,) in self._all("postgres", "SELECT datname FROM pg_database WHERE datname LIKE %s "
                                                     "AND datallowconn ORDER BY datname", (_like(prefix),))]
        found = []
        for database in (d for d in names if d not in SYSTEM_DATABASES):
            try:
                found += self._pg_tables(database, table)
            except FactUnavailable:
                continue              # a database this account may not connect to holds nothing of its own
        return found

    def table(self, database: str, table: str) -> TableSize | None:
        """The one table the profile names (database.messages_table)."""
        if self.login.engine == "MYSQL":
            return next((t for t in self.tables_named(table, database) if t.database == database), None)
        return next(iter(self._pg_tables(database, table)), None)

    def exact_count(self, database: str, table: str) -> int:
        """COUNT(*): a full scan, only with --exact-counts."""
        if self.login.engine == "MYSQL":
            return int(self._one(None, f"SELECT COUNT(*) FROM {_mysql_name(database)}.{_mysql_name(table)}")[0])
        schema, _, name = table.rpartition(".")
        quoted = f'"{_pg_name(schema)}"."{_pg_name(name)}"' if schema else f'"{_pg_name(name)}"'
        return int(self._one(database, f"SELECT COUNT(*) FROM {quoted}")[0])

    def close(self) -> None:
        for connection in self._connections.values():
            try:
                connection.close()
            except Exception:  # closing a broken connection must not hide the real result
                pass
        self._connections.clear()

    # -- plumbing -------------------------------------------------------------------------------
    def _pg_tables(self, database: str, table: str) -> list[TableSize]:
        # reltuples is -1 until the first ANALYZE (PostgreSQL 14+): then the live-tuple counter
        rows = self._all(database, "SELECT n.nspname, c.relname, c.reltuples, s.n_live_tup FROM pg_class c "
                                   "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                   "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                                   "WHERE c.relname = %s AND c.relkind IN ('r', 'p') "
                                   "AND n.nspname NOT IN ('pg_catalog', 'information_schema')", (table,))
        sized = []
        for schema, name, reltuples, live in rows:
            qualified = name if schema == "public" else f"{schema}.{name}"
            if reltuples is not None and reltuples >= 0:
                sized.append(TableSize(database, qualified, int(reltuples), "pg_class.reltuples (from the last ANALYZE)"))
            else:
                sized.append(TableSize(database, qualified, int(live or 0), "pg_stat_user_tables.n_live_tup (never analyzed)"))
        return sized

    def _one(self, database, sql, params=()):
        rows = self._all(database, sql, params)
        return rows[0] if rows else (None,)

    def _all(self, database, sql, params=()):
        connection = self._connection(database)
        try:
            if self.login.engine == "MYSQL":
                with connection.cursor() as cursor:
                    cursor.execute(sql, params or None)
                    return list(cursor.fetchall())
            return list(connection.execute(sql, params or None).fetchall())
        except _driver_errors(self.login.engine) as exc:
            raise FactUnavailable(f"{self.login.url()}: {' '.join(str(exc).split())[:300]}", self.login.url()) from None

    @logged(lambda self, database: f"connection to {self.login.url()} ({database or 'no database'})")
    def _connection(self, database):
        key = None if self.login.engine == "MYSQL" else database
        if key in self._failures:
            raise self._failures[key]
        if key not in self._connections:
            try:
                if self.login.engine == "MYSQL":
                    self._connections[key] = _mysql_connect(self.login, self.tls)
                else:
                    self._connections[key] = _pgsql_connect(self.login, database)
            except FactUnavailable as exc:
                self._failures[key] = exc
                raise
            self.opened += 1
        return self._connections[key]


# Each driver is imported when its engine is met: an audit loads one (psycopg alone takes
# ~0.2 s to import, paid by every run otherwise).
def _driver_errors(engine: str) -> tuple[type[Exception], ...]:
    if engine == "MYSQL":
        import pymysql
        return (pymysql.MySQLError,)
    import psycopg
    return (psycopg.Error,)


@functools.cache
def _mysql_connection_class():
    """PyMySQL's connection, its PREFERRED mode (no TLS settings: encrypt if the server can,
    verify nothing) on the run's shared context: PyMySQL builds one per session, loading the
    system's CAs it then does not use (transport/tls.py)."""
    import pymysql

    class Connection(pymysql.connections.Connection):
        def _create_ssl_ctx(self, sslp):
            return tls_contexts.unverified() if sslp == {} else super()._create_ssl_ctx(sslp)

    return Connection


def _mysql_connect(login: DbLogin, tls: DbTls | None):
    import pymysql
    try:
        context = tls.context() if tls else None
    except (ssl.SSLError, ValueError) as exc:
        raise TlsFailed(f"{login.url()}: {tls.described} cannot be loaded ({exc})", login.url()) from None
    try:
        connection = _mysql_connection_class()(
            host=login.host, port=login.port, user=login.user, password=login.password, ssl=context,
            # the handshake is read with read_timeout: a port that accepts and never answers
            # must cost CONNECT_SECONDS, not COMMAND_SECONDS; queries get theirs below
            connect_timeout=CONNECT_SECONDS, read_timeout=CONNECT_SECONDS, write_timeout=COMMAND_SECONDS)
    except pymysql.err.OperationalError as exc:
        code, text = (exc.args + ("",))[:2]
        if tls and "CERTIFICATE_VERIFY_FAILED" in str(text):
            raise TlsFailed(f"{login.url()}: the server's certificate does not verify against {tls.described}: "
                            f"{text}", login.url()) from None
        error = CredentialsRejected if code in MYSQL_AUTH_ERRORS else FactUnavailable
        raise error(f"{login.url()}: {text or exc}", login.url()) from None
    except pymysql.err.MySQLError as exc:
        raise FactUnavailable(f"{login.url()}: {exc}", login.url()) from None
    with connection.cursor() as cursor:
        # statistics only, never a write: refuse writes at the session level too
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
    connection._read_timeout = COMMAND_SECONDS     # PyMySQL applies it at each read
    return connection


def _pgsql_connect(login: DbLogin, database: str):
    import psycopg
    try:
        # `postgres` exists on every cluster and PUBLIC may connect to it by default.
        connection = psycopg.connect(
            host=login.host, port=login.port, user=login.user, password=login.password,
            dbname=database, connect_timeout=CONNECT_SECONDS, autocommit=True,
            options=f"-c statement_timeout={COMMAND_SECONDS * 1000} -c default_transaction_read_only=on")
    except psycopg.OperationalError as exc:
        text = " ".join(str(exc).split())
        rejected = getattr(exc, "sqlstate", None) in PGSQL_AUTH_STATES or "password authentication failed" in text
        error = CredentialsRejected if rejected else FactUnavailable
        raise error(f"{login.url()}: {text[:300]}", login.url()) from None
    return connection


def _like(prefix: str) -> str:
    """A LIKE pattern for names starting with `prefix` (its _ and % taken literally)."""
    return prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"


def _mysql_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _pg_name(name: str) -> str:
    return name.replace('"', '""')
