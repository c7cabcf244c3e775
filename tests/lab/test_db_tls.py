"""TLS to MySQL as the client connects (issue 13 item 6): db.env's WA_DB_SSL_CA/_CERT/_KEY name
files inside the containers, read in the Coreapp's one exec; the audit connects with them to the
lab's real MariaDB, which serves TLS with a CA made at setup (lab/install.sh) and whose account
REQUIRE SSL / REQUIRE X509."""

from __future__ import annotations

import pymysql
import pytest

from tests.audit_runner import assert_outcomes

pytestmark = pytest.mark.lab
ENV_IDS = [f"ENV-{n:03d}" for n in range(1, 12)]
URL = "mysql://biz_wa@127.0.0.1:3306"


@pytest.mark.parametrize("deviation, over", [
    ("env.tls_required", "over TLS (WA_DB_SSL_CA=/opt/certs/db-ca.pem, server certificate verified)"),
    ("env.tls_x509", "over TLS (WA_DB_SSL_CA=/opt/certs/db-ca.pem, WA_DB_SSL_CERT=/opt/certs/db-cert.pem, "
                     "WA_DB_SSL_KEY=/opt/certs/db-key.pem, server certificate verified)"),
])
def test_the_client_tls_settings_are_followed(lab_biz, audit, deviation, over):
    with lab_biz.deviation(deviation):
        # the account really refuses a login without TLS
        with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
            pymysql.connect(host="127.0.0.1", port=3306, user=lab_biz.db_user, password=lab_biz.db_password,
                            ssl_disabled=True).close()
        run = audit("--host=lab", "-m", "env or gc", "-k", "ENV or GC_001 or gc_001")
        key = (lab_biz.server.tls_dir / "client-key.pem").read_text()
    assert_outcomes(run, "lab", ENV_IDS, {})
    login, = run.of("lab", "ENV-009")
    assert f"logged in as {lab_biz.db_user} {over}" in login["message"], login
    assert {r["outcome"] for r in run.of("lab", "GC-001")} == {"pass"}, run.of("lab", "GC-001")
    body = [line for line in key.splitlines() if not line.startswith("-----")]
    reports = "".join(p.read_text(errors="replace") for p in run.reports_dir.rglob("*") if p.is_file())
    assert not any(line in run.console or line in reports for line in body)    # the key reaches no output


@pytest.mark.parametrize("deviation, message", [
    ("env.tls_ca_missing", "TLS as db.env sets it cannot work: db.env's WA_DB_SSL_CA=/opt/certs/db-ca.pem does not "
                           "exist in biz_wacore_1: the client cannot connect with TLS either"),
    ("env.tls_wrong_ca", f"TLS as db.env sets it cannot work: {URL}: the server's certificate does not verify "
                         "against WA_DB_SSL_CA=/opt/certs/db-ca.pem"),
    ("env.tls_x509_without_cert", "the server refused the login: "),
])
def test_tls_settings_the_client_cannot_connect_with_fail_env_009(lab_biz, audit, deviation, message):
    with lab_biz.deviation(deviation):
        run = audit("--host=lab", "-m", "env")
    assert run.exit_code == 1, run.console
    assert_outcomes(run, "lab", ENV_IDS, {"ENV-009": ("fail", message)})
