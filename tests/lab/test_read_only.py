"""SECURITY.md: an audit changes nothing on the audited deployment (VOL-004's probe is removed).

A digest of the lab taken from outside the audit (tests/lab/digest.py: media volume files and
hashes, database checksums and write counters, crontabs, logrotate configuration and state, log
folders, container states and restart counts, the API stand-in's configuration) is identical
before and after a full audit, and the API saw only the login and GETs."""

from __future__ import annotations

import pytest

from tests.lab.digest import digest


@pytest.mark.parametrize("lab_name, host", [("lab_biz", "lab"), ("lab_pg", "lab-pg"), ("lab_mc", "lab-mc")])
def test_a_full_audit_leaves_the_deployment_as_it_found_it(request, audit, lab_name, host):
    lab = request.getfixturevalue(lab_name)
    lab.clear_api_requests()
    before = digest(lab)
    run = audit(f"--host={host}", "--exact-counts")
    after = digest(lab)
    assert run.exit_code in (0, 1), run.console
    assert {r["outcome"] for r in run.results(host) if r["id"] == "VOL-004"} == {"pass"}
    for part in before:
        assert after[part] == before[part], part
    sent = {(r["method"], r["path"].split("?")[0]) for r in lab.api_requests()}
    assert sent and all(method == "GET" or (method, path) == ("POST", "/v1/users/login") for method, path in sent), sent


def test_the_digest_sees_what_an_audit_must_not_do(lab_biz, tmp_path):
    """The proof above is only as good as the digest: a file left in the volume, a row written
    and a cron file touched all show."""
    before = digest(lab_biz)
    leftover = lab_biz.media_source() / ".left-behind"
    leftover.write_text("x")
    connection = lab_biz.connect_db()
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE digest_scratch (n INT) ENGINE=InnoDB")
            cursor.execute("INSERT INTO digest_scratch VALUES (1)")
        connection.commit()
        after = digest(lab_biz)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS digest_scratch")
        connection.close()
        leftover.unlink()
    assert after["media"] != before["media"]
    assert after["database"]["writes"] != before["database"]["writes"]
