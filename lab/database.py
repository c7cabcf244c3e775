"""The lab's real database servers: MariaDB on 127.0.0.1:3306, PostgreSQL 15 on 127.0.0.1:5432.

Administration goes through the servers' local superuser over the Unix socket (MariaDB's root
with unix_socket auth, PostgreSQL's `postgres` with peer auth), so the lab keeps no admin
password anywhere. Passwords travel only inside the driver protocol or on psql's stdin,
never on a command line. Account names are validated before they reach any SQL text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path

import psycopg
import pymysql

from lab.commands import run
from lab.errors import LabError

HOST = "127.0.0.1"
CONNECT_TIMEOUT = 5
MARIADB_SOCKET = "/run/mysqld/mysqld.sock"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def _checked(*names: str) -> None:
    for name in names:
        if not _NAME.match(name):
            raise LabError(f"unsafe database name {name!r}: use lowercase letters, digits and _")


def checked_name(name: str) -> str:
    """`name` itself, once it is known safe to put in SQL as an identifier (else LabError)."""
    _checked(name)
    return name


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching names that start with `prefix` (its _ taken literally)."""
    return prefix.replace("_", "\\_") + "%"


class MariaDB:
    engine = "mysql"
    port = 3306
    # made by lab/install.sh: the server's CA, a client certificate it signed, and an unrelated CA
    tls_dir = Path("/etc/mysql/wa-lab-tls")

    def _admin(self):
        try:
            return pymysql.connect(unix_socket=MARIADB_SOCKET, user="root", autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT, read_timeout=30)
        except pymysql.MySQLError as error:
            raise LabError(f"cannot reach MariaDB as root on {MARIADB_SOCKET} ({error.args[-1]}); "
                           "run lab/install.sh") from None

    def ensure_account(self, user: str, password: str, database: str, prefix: str) -> None:
        """User `user`@'%' with `password` (reset if it exists), owning `database` and any
        database named with `prefix`, as the client creates several."""
        _checked(user, database, prefix)
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, "%", password))
            cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s REQUIRE NONE", (user, "%", password))
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            # %% : PyMySQL %-formats the statement when given parameters.
            pattern = _like_prefix(prefix).replace("%", "%%")
            cursor.execute(f"GRANT ALL PRIVILEGES ON `{pattern}`.* TO %s@%s", (user, "%"))

    def set_password(self, user: str, password: str) -> None:
        _checked(user)
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, "%", password))

    def require_tls(self, user: str, requirement: str) -> None:
        """The account logs in only over TLS: `SSL`, or `X509` (with a client certificate the
        server's CA signed); `NONE` lifts it."""
        if requirement not in ("SSL", "X509", "NONE"):
            raise LabError(f"unknown TLS requirement {requirement!r}")
        _checked(user)
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"ALTER USER %s@%s REQUIRE {requirement}", (user, "%"))

    def account_exists(self, user: str) -> bool:
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM mysql.user WHERE user = %s", (user,))
            return cursor.fetchone() is not None

    def accounts(self) -> list[str]:
        """Every user name on the server (lab purge)."""
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT user FROM mysql.user")
            return sorted(row[0] for row in cursor.fetchall())

    def all_databases(self) -> list[str]:
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES")
            return sorted(row[0] for row in cursor.fetchall())

    def databases(self, prefix: str) -> list[str]:
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES LIKE %s", (_like_prefix(prefix),))
            return sorted(row[0] for row in cursor.fetchall())

    def ensure_database(self, database: str, owner: str) -> None:
        """Database `database` with every privilege on it for `owner`@'%', whatever its name
        (ensure_account only covers names with the account's prefix: an unprefixed
        deployment's `waent...` databases need this)."""
        _checked(database, owner)
        # In a GRANT's database name _ is a wildcard: escaped, it means this database only.
        grant = database.replace("_", "\\_")
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            cursor.execute(f"GRANT ALL PRIVILEGES ON `{grant}`.* TO %s@%s", (owner, "%"))

    def drop_database(self, database: str) -> None:
        """Drop `database` if it exists (the grants on it stay until their account is dropped)."""
        _checked(database)
        with self._admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")

    def drop_account(self, user: str, prefix: str) -> None:
        """Drop the user and every database named with `prefix`."""
        _checked(user, prefix)
        names = self.databases(prefix)
        with self._admin() as connection, connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute("DROP USER IF EXISTS %s@%s", (user, "%"))

    def connect(self, user: str, password: str, database: str, timeout: float = 30):
        """A DB-API connection as `user`, over TCP on loopback like the auditor's; no
        statement may take longer than `timeout` seconds."""
        return pymysql.connect(host=HOST, port=self.port, user=user, password=password,
                               database=database, connect_timeout=CONNECT_TIMEOUT,
                               read_timeout=timeout, write_timeout=timeout)


class PostgreSQL:
    engine = "pgsql"
    port = 5432

    def _psql(self, script: str) -> list[str]:
        """Run SQL as the `postgres` superuser; the script (and any secret) goes on stdin."""
        result = run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-At",
                      "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
                     stdin=script, timeout=60, cwd="/")  # cwd: postgres may not read ours
        return [line for line in result.stdout.splitlines() if line]

    def ensure_account(self, user: str, password: str, database: str, prefix: str) -> None:
        """Role `user` with `password` (reset if it exists), allowed to create the client's
        other databases, and owner of `database`."""
        _checked(user, database, prefix)
        self._psql(
            f"SELECT 'CREATE ROLE \"{user}\"' WHERE NOT EXISTS "
            f"(SELECT FROM pg_roles WHERE rolname = '{user}') \\gexec\n"
            f"ALTER ROLE \"{user}\" WITH LOGIN CREATEDB CONNECTION LIMIT -1 PASSWORD '{scram_verifier(password)}';\n"
            f"SELECT 'CREATE DATABASE \"{database}\" OWNER \"{user}\"' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{database}') \\gexec\n"
        )

    def set_password(self, user: str, password: str) -> None:
        _checked(user)
        self._psql(f"ALTER ROLE \"{user}\" PASSWORD '{scram_verifier(password)}';\n")

    def account_exists(self, user: str) -> bool:
        _checked(user)
        return bool(self._psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{user}';\n"))

    def accounts(self) -> list[str]:
        """Every role name on the server (lab purge)."""
        return sorted(self._psql("SELECT rolname FROM pg_roles;\n"))

    def all_databases(self) -> list[str]:
        return sorted(self._psql("SELECT datname FROM pg_database;\n"))

    def databases(self, prefix: str) -> list[str]:
        _checked(prefix)
        return sorted(self._psql(
            f"SELECT datname FROM pg_database WHERE datname LIKE '{_like_prefix(prefix)}';\n"))

    def ensure_database(self, database: str, owner: str) -> None:
        """Database `database` owned by the role `owner`, whatever its name (an unprefixed
        deployment's `waent...` databases)."""
        _checked(database, owner)
        self._psql(
            f"SELECT 'CREATE DATABASE \"{database}\" OWNER \"{owner}\"' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{database}') \\gexec\n"
            f"ALTER DATABASE \"{database}\" OWNER TO \"{owner}\";\n"
        )

    def drop_database(self, database: str) -> None:
        """Drop `database` if it exists, closing its sessions."""
        _checked(database)
        self._psql(f"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE);\n")

    def drop_account(self, user: str, prefix: str) -> None:
        """Drop every database named with `prefix` or owned by `user`, then the role."""
        _checked(user, prefix)
        self._psql(
            "SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database "
            f"WHERE datname LIKE '{_like_prefix(prefix)}' "
            f"OR pg_get_userbyid(datdba) = '{user}' \\gexec\n"
            f"DROP ROLE IF EXISTS \"{user}\";\n"
        )

    def connect(self, user: str, password: str, database: str, timeout: float = 30):
        """A DB-API connection as `user`, over TCP on loopback like the auditor's; no
        statement may take longer than `timeout` seconds."""
        return psycopg.connect(host=HOST, port=self.port, user=user, password=password,
                               dbname=database, connect_timeout=CONNECT_TIMEOUT,
                               options=f"-c statement_timeout={int(timeout * 1000)}")


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677).

    Sending the verifier rather than the password means the plain password never reaches
    the server, so it cannot end up in a server log line either.
    """
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def server_for(engine: str) -> MariaDB | PostgreSQL:
    return {"mysql": MariaDB, "pgsql": PostgreSQL}[engine]()
