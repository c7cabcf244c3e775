"""Deviations of the `env` section: db.env and the database account (R-ENV, ENV-001..011).

File edits change one line and keep the rest of db.env (and its mode) as it is.
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from lab.dbenv import DbEnvEditor
from lab.deviations.logs import exec_in
from lab.deviations.registry import deviation

if TYPE_CHECKING:
    from lab.deployment import Lab

SAMPLE_PASSWORD = "testpass"       # the value in Meta's published db.env files
PREFIX_TOO_LONG_LENGTH = 70        # every database name then exceeds MySQL's 64 / PG's 63


def _db_env(lab: Lab) -> DbEnvEditor:
    return DbEnvEditor(lab.db_env_path)


def _random_password(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _use_password_everywhere(lab: Lab, password: str) -> None:
    """Same password in db.env, on the server and in recreated containers, so only the
    password rules (ENV-010) can object."""
    _db_env(lab).set("WA_DB_PASSWORD", password)
    lab.server.set_password(lab.db_user, password)
    lab.ensure_containers()


@deviation("env.missing_file", "db.env is absent", {"file"})
def missing_file(lab: Lab) -> None:
    lab.db_env_path.unlink()


@deviation("env.unparsable", "the WA_DB_PORT line lost its '=' (python-dotenv parse error)",
           {"file"})
def unparsable(lab: Lab) -> None:
    _db_env(lab).replace_line("WA_DB_PORT", f"WA_DB_PORT {lab.db_port}")


@deviation("env.duplicate_key", "WA_DB_PORT is set twice (same value)", {"file"})
def duplicate_key(lab: Lab) -> None:
    _db_env(lab).append(f"WA_DB_PORT={lab.db_port}")


@deviation("env.missing_var", "WA_DB_USERNAME is not set", {"file"})
def missing_var(lab: Lab) -> None:
    _db_env(lab).remove("WA_DB_USERNAME")


@deviation("env.empty_var", "WA_DB_HOSTNAME is empty", {"file"})
def empty_var(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_HOSTNAME", "")


@deviation("env.engine_unknown", "WA_DB_ENGINE=MARIADB (accepted: MYSQL, PGSQL)", {"file"})
def engine_unknown(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_ENGINE", "MARIADB")


@deviation("env.port_invalid", "WA_DB_PORT=70000", {"file"})
def port_invalid(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_PORT", "70000")


@deviation("env.idle_timeout_seconds", "WA_DB_CONNECTION_IDLE_TIMEOUT=180 (seconds, not ms)",
           {"file"}, engines={"mysql"})
def idle_timeout_seconds(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_CONNECTION_IDLE_TIMEOUT", "180")


@deviation("env.idle_timeout_pgsql", "WA_DB_CONNECTION_IDLE_TIMEOUT set on PostgreSQL "
           "(MySQL only: no effect)", {"file"}, engines={"pgsql"})
def idle_timeout_pgsql(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_CONNECTION_IDLE_TIMEOUT", "180000")


@deviation("env.prefix_invalid", "WA_DB_NAME_PREFIX=<project>-prod (a '-')", {"file"})
def prefix_invalid(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_NAME_PREFIX", f"{lab.project}-prod")


@deviation("env.prefix_too_long", f"WA_DB_NAME_PREFIX of {PREFIX_TOO_LONG_LENGTH} characters",
           {"file"})
def prefix_too_long(lab: Lab) -> None:
    prefix = lab.db_name_prefix.ljust(PREFIX_TOO_LONG_LENGTH, "x")
    _db_env(lab).set("WA_DB_NAME_PREFIX", prefix)


@deviation("env.unknown_var", "WA_DB_HOST=db added (a typo of WA_DB_HOSTNAME)", {"file"})
def unknown_var(lab: Lab) -> None:
    _db_env(lab).append("WA_DB_HOST=db")


@deviation("env.drift", "WA_DB_HOSTNAME changed in db.env after the containers were created",
           {"file"})
def drift(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_HOSTNAME", "db-replica")


@deviation("env.wrong_password", "password changed on the database server; db.env untouched",
           {"server"})
def wrong_password(lab: Lab) -> None:
    lab.server.set_password(lab.db_user, _random_password(32))


@deviation("env.world_readable", "db.env mode 0644", {"file"})
def world_readable(lab: Lab) -> None:
    lab.db_env_path.chmod(0o644)


@deviation("env.sample_password", f"password {SAMPLE_PASSWORD!r} (Meta's sample) in db.env, "
           "on the server and in the containers", {"file", "server", "containers"})
def sample_password(lab: Lab) -> None:
    _use_password_everywhere(lab, SAMPLE_PASSWORD)


@deviation("env.short_password", "an 8-character password in db.env, on the server and in "
           "the containers", {"file", "server", "containers"})
def short_password(lab: Lab) -> None:
    _use_password_everywhere(lab, _random_password(8))


@deviation("env.root_user", "WA_DB_USERNAME=root in db.env (server and containers untouched)",
           {"file"})
def root_user(lab: Lab) -> None:
    _db_env(lab).set("WA_DB_USERNAME", "root")


# --- TLS to MySQL: db.env's WA_DB_SSL_* name files inside the containers (Meta's AWS template) ----
CERTS_DIR = "/opt/certs"
TLS_FILES = {"WA_DB_SSL_CA": "db-ca.pem", "WA_DB_SSL_CERT": "db-cert.pem", "WA_DB_SSL_KEY": "db-key.pem"}


def _use_tls(lab: Lab, requirement: str, files: dict[str, str | None]) -> None:
    """The account requires TLS (`requirement`); db.env names each of `files` (variable ->
    the lab TLS file it holds, in every container; None: named in db.env, absent)."""
    lab.server.require_tls(lab.db_user, requirement)
    for variable in files:
        _db_env(lab).set(variable, f"{CERTS_DIR}/{TLS_FILES[variable]}")
    lab.ensure_containers()            # the client's environment follows db.env (ENV-008)
    for variable, source in files.items():
        path = f"{CERTS_DIR}/{TLS_FILES[variable]}"
        if source is None:
            continue
        content = (lab.server.tls_dir / source).read_text()
        for container in lab.cleanup_containers():          # every container of the deployment
            exec_in(container, f"mkdir -p {CERTS_DIR} && cat > {path} && chmod 600 {path}", stdin=content)


@deviation("env.tls_required", "the account REQUIRE SSL; db.env sets WA_DB_SSL_CA=/opt/certs/db-ca.pem, "
           "the server's CA, in every container (COMPLIANT)", {"file", "server", "containers", "inside"}, engines={"mysql"})
def tls_required(lab: Lab) -> None:
    _use_tls(lab, "SSL", {"WA_DB_SSL_CA": "ca.pem"})


@deviation("env.tls_x509", "the account REQUIRE X509; db.env sets WA_DB_SSL_CA, _CERT and _KEY, a client "
           "certificate the server's CA signed (COMPLIANT)", {"file", "server", "containers", "inside"}, engines={"mysql"})
def tls_x509(lab: Lab) -> None:
    _use_tls(lab, "X509", {"WA_DB_SSL_CA": "ca.pem", "WA_DB_SSL_CERT": "client-cert.pem",
                           "WA_DB_SSL_KEY": "client-key.pem"})


@deviation("env.tls_x509_without_cert", "the account REQUIRE X509, but db.env sets only WA_DB_SSL_CA: "
           "the server refuses a login without a client certificate", {"file", "server", "containers", "inside"},
           engines={"mysql"})
def tls_x509_without_cert(lab: Lab) -> None:
    _use_tls(lab, "X509", {"WA_DB_SSL_CA": "ca.pem"})


@deviation("env.tls_ca_missing", "db.env sets WA_DB_SSL_CA=/opt/certs/db-ca.pem, which is in no container",
           {"file", "server", "containers"}, engines={"mysql"})
def tls_ca_missing(lab: Lab) -> None:
    _use_tls(lab, "SSL", {"WA_DB_SSL_CA": None})


@deviation("env.tls_wrong_ca", "WA_DB_SSL_CA holds a CA that did not sign the server's certificate",
           {"file", "server", "containers", "inside"}, engines={"mysql"})
def tls_wrong_ca(lab: Lab) -> None:
    _use_tls(lab, "SSL", {"WA_DB_SSL_CA": "other-ca.pem"})
