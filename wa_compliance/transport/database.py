"""Read-only access to the deployment's database server (MySQL/MariaDB or PostgreSQL).

>>> server = probe_server(DbLogin("MYSQL", "127.0.0.1", 3306, "biz_wa", secret))
>>> server.version
'10.11.19-MariaDB-0+deb12u1'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
import pymysql

from ..errors import FactUnavailable
from ..timeouts import COMMAND_SECONDS, CONNECT_SECONDS

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


def probe_server(login: DbLogin) -> ServerInfo:
    """Log in once, read the server version, log out. Read-only, bounded."""
    if login.engine == "MYSQL":
        return ServerInfo(login, _mysql_version(login))
    return ServerInfo(login, _pgsql_version(login))


def _mysql_version(login: DbLogin) -> str:
    try:
        connection = pymysql.connect(
            host=login.host, port=login.port, user=login.user, password=login.password,
            connect_timeout=CONNECT_SECONDS, read_timeout=COMMAND_SECONDS, write_timeout=COMMAND_SECONDS,
        )
    except pymysql.err.OperationalError as exc:
        code, text = (exc.args + ("",))[:2]
        error = CredentialsRejected if code in MYSQL_AUTH_ERRORS else FactUnavailable
        raise error(f"{login.url()}: {text or exc}", login.url()) from None
    except pymysql.err.MySQLError as exc:
        raise FactUnavailable(f"{login.url()}: {exc}", login.url()) from None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def _pgsql_version(login: DbLogin) -> str:
    try:
        # `postgres` exists on every cluster and PUBLIC may connect to it by default.
        connection = psycopg.connect(
            host=login.host, port=login.port, user=login.user, password=login.password,
            dbname="postgres", connect_timeout=CONNECT_SECONDS,
            options=f"-c statement_timeout={COMMAND_SECONDS * 1000} -c default_transaction_read_only=on",
        )
    except psycopg.OperationalError as exc:
        text = " ".join(str(exc).split())
        rejected = getattr(exc, "sqlstate", None) in PGSQL_AUTH_STATES or "password authentication failed" in text
        error = CredentialsRejected if rejected else FactUnavailable
        raise error(f"{login.url()}: {text[:300]}", login.url()) from None
    try:
        with connection:
            return connection.execute("SHOW server_version").fetchone()[0]
    finally:
        connection.close()
