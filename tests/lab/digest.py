"""A digest of everything an audit could change on a lab deployment, taken from outside the
audit (the host's view of the volume, the engine's API, the database as its own user).

Compared before and after an audit, it proves SECURITY.md: the audit changes nothing.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import tarfile
from pathlib import Path

import docker

# Tables larger than this are compared by the server's own write counters, not by checksum.
CHECKSUM_ROWS = 1_000_000
MYSQL_WRITES = ("insert", "insert_select", "update", "update_multi", "delete", "delete_multi", "replace",
                "replace_select", "load", "truncate", "create_table", "alter_table", "drop_table",
                "create_db", "drop_db", "rename_table", "grant", "revoke")
LOG_DIR = "/var/log/whatsapp"
LOGROTATE_PATHS = ("/etc/logrotate.conf", "/etc/logrotate.d", "/var/lib/logrotate")


def digest(lab) -> dict:
    client = docker.from_env()
    containers = [client.containers.get(name) for names in lab.container_names().values() for name in names]
    return {
        "media": _tree(lab.media_source()),
        "database": _database(lab),
        "crontabs": {path: _sha(Path(path)) for path in _crontab_paths()},
        "containers": {c.name: _container_state(c) for c in containers},
        "inside": {c.name: _inside(c, lab) for c in containers},
        "api": repr(lab.api_config()),
    }


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, tuple]:
    """Every file under root: (mode, size, mtime in ns, sha256); sub-folders: mode and mtime."""
    found = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(folder, name)
            stat = path.lstat()
            content = _sha(path) if path.is_file() and not path.is_symlink() else None
            found[str(path.relative_to(root))] = (stat.st_mode, stat.st_size, stat.st_mtime_ns, content)
    # the root's mtime is left out: VOL-004 creates and removes its probe there, the one
    # change SECURITY.md allows, and that moves the folder's mtime
    found["."] = (root.stat().st_mode,)
    return found


def _crontab_paths() -> list[str]:
    return sorted(["/etc/crontab", *glob.glob("/etc/cron.d/*"), *glob.glob("/var/spool/cron/crontabs/*")])


def _container_state(container) -> tuple:
    container.reload()
    state = container.attrs["State"]
    return (state["Status"], state["Pid"], state["StartedAt"], container.attrs["RestartCount"])


def _inside(container, lab) -> dict[str, tuple]:
    """The log folder and logrotate's configuration and state, read through the engine's
    archive API (no exec: the digest must not add what it measures)."""
    found = {}
    for path in (LOG_DIR, *LOGROTATE_PATHS):
        try:
            stream, _ = container.get_archive(path)
        except docker.errors.NotFound:
            found[path] = None
            continue
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            for member in archive.getmembers():
                data = archive.extractfile(member).read() if member.isfile() else b""
                found[member.name] = (member.mode, member.size, member.mtime, hashlib.sha256(data).hexdigest())
    return found


def _database(lab) -> dict:
    """Tables of the deployment's databases: exact rows and a checksum each (the large seeded
    ones by the server's write counters instead), plus those counters."""
    connection = lab.connect_db()
    try:
        if lab.engine == "mysql":
            return _mysql(connection, lab.db_name_prefix)
        return _pgsql(connection)
    finally:
        connection.close()


def _mysql(connection, prefix: str) -> dict:
    found = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                       "WHERE TABLE_SCHEMA LIKE %s", (prefix.replace("_", "\\_") + "%",))
        for schema, table, rows in cursor.fetchall():
            if (rows or 0) <= CHECKSUM_ROWS:
                cursor.execute(f"CHECKSUM TABLE `{schema}`.`{table}` EXTENDED")
                found[f"{schema}.{table}"] = cursor.fetchone()[1]
        # statements that write, as the server counted them (every session, every database)
        cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN (" + ", ".join(f"'Com_{c}'" for c in MYSQL_WRITES) + ")")
        found["writes"] = dict(cursor.fetchall())
    return found


def _pgsql(connection) -> dict:
    found = {}
    cursor = connection.cursor()
    cursor.execute("SELECT n.nspname, c.relname, c.reltuples FROM pg_class c "
                   "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
                   "AND n.nspname NOT IN ('pg_catalog', 'information_schema')")
    for schema, table, rows in cursor.fetchall():
        if rows <= CHECKSUM_ROWS:
            # order-independent: a sum of row hashes needs no sort
            cursor.execute(f'SELECT count(*), sum(hashtext(t::text)::bigint) FROM "{schema}"."{table}" t')
            found[f"{schema}.{table}"] = cursor.fetchone()
    # rows written to the user tables, by the server's count (catalog writes by autovacuum aside)
    cursor.execute("SELECT pg_stat_force_next_flush()")
    cursor.execute("SELECT sum(n_tup_ins), sum(n_tup_upd), sum(n_tup_del) FROM pg_stat_user_tables")
    found["writes"] = cursor.fetchone()
    return found
