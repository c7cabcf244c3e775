"""A read-only audit account (`database.user` + `database.password_env`) is all the audit needs
of the database: created exactly as SECURITY.md shows, it sizes the messages table (GC-001),
ENV-009 says db.env's credentials were not tried, and the account itself cannot write."""

from __future__ import annotations

import secrets

import pymysql
import psycopg
import pytest

from lab.database import MariaDB, PostgreSQL, scram_verifier
from lab.profiles import merge, profile_for, write
from lab.seed import ensure_messages

ACCOUNT = "wa_audit_test"
PASSWORD_ENV = "WA_TEST_AUDIT_DB_PASSWORD"


def mysql_account(lab, password: str) -> None:
    # SECURITY.md: CREATE USER + SELECT on the client's databases (WA_DB_NAME_PREFIX*)
    prefix = lab.db_name_prefix.replace("_", "\\_")
    with MariaDB()._admin() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{ACCOUNT}'@'%'")
        cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", (ACCOUNT, "%", password))
        cursor.execute(f"GRANT SELECT ON `{prefix}%`.* TO '{ACCOUNT}'@'%'")


def pgsql_account(lab, password: str) -> None:
    # SECURITY.md: a login role and nothing else (PUBLIC may connect and read pg_class)
    PostgreSQL()._psql(f'DROP ROLE IF EXISTS "{ACCOUNT}";\n'
                       f"CREATE ROLE \"{ACCOUNT}\" LOGIN PASSWORD '{scram_verifier(password)}';\n"
                       f'ALTER ROLE "{ACCOUNT}" SET default_transaction_read_only = on;\n')


def drop_account(engine: str) -> None:
    if engine == "mysql":
        with MariaDB()._admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{ACCOUNT}'@'%'")
    else:
        PostgreSQL()._psql(f'DROP ROLE IF EXISTS "{ACCOUNT}";\n')


@pytest.mark.parametrize("lab_name, host", [("lab_biz", "lab"), ("lab_pg", "lab-pg")])
def test_a_read_only_audit_account_is_enough(request, audit, tmp_path, lab_name, host):
    lab = request.getfixturevalue(lab_name)
    ensure_messages(lab)                     # GC-001 sizes it
    password = secrets.token_urlsafe(18)
    (mysql_account if lab.engine == "mysql" else pgsql_account)(lab, password)
    try:
        profile = write(merge(profile_for(lab, f"{host}-ro"),
                              {"database": {"user": ACCOUNT, "password_env": PASSWORD_ENV}}),
                        tmp_path / f"{host}-ro.yaml")
        run = audit(f"--host={profile}", "-m", "env or gc", env={PASSWORD_ENV: password})
        env_009 = run.of(f"{host}-ro", "ENV-009")
        assert [r["outcome"] for r in env_009] == ["skip"], env_009
        assert "not with db.env's credentials" in env_009[0]["message"]
        gc_001 = run.of(f"{host}-ro", "GC-001")
        assert [r["outcome"] for r in gc_001] == ["pass"], gc_001
        # ENV-010 still judges the client's own password (db.env's), not the audit account's
        assert [r["outcome"] for r in run.of(f"{host}-ro", "ENV-010")] == ["pass"]
        assert password not in run.console
        with pytest.raises((pymysql.MySQLError, psycopg.Error)):
            _write_as_account(lab, password)
    finally:
        drop_account(lab.engine)


def _write_as_account(lab, password: str) -> None:
    connection = lab.server.connect(ACCOUNT, password, lab.db_name)
    try:
        cursor = connection.cursor()
        cursor.execute("CREATE TABLE audit_account_write (n INT)")
        connection.commit()
    finally:
        connection.close()
