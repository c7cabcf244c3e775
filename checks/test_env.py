"""env — the database environment (R-ENV).

Source: "Data management", section *Variables d'environnement*: db.env holds the
database settings that Coreapp and Webapp use (WA_DB_ENGINE, WA_DB_HOSTNAME,
WA_DB_PORT, WA_DB_USERNAME, WA_DB_PASSWORD, WA_DB_NAME_PREFIX, and
WA_DB_CONNECTION_IDLE_TIMEOUT in milliseconds, MySQL only).
"""


from wa_compliance.check import check
from wa_compliance.errors import FactUnavailable
from wa_compliance.facts.host_files import DbEnvUnparsable
from wa_compliance.rules import env as rules
from wa_compliance.subjects import containers_to_check, each_host
from wa_compliance.transport.database import CredentialsRejected, TlsFailed

@check("ENV-001", "db.env exists, is readable and parses", "high",
       remediation="Create db.env at the profile's deployment.db_env path with one KEY=value per line "
                   "(see Meta's installation/db.env), readable by the auditing user, each key once.",
       reads=("db_env",))
def test_env_001_db_env_parses(deployment, verdict):
    """`db.env` exists at `deployment.db_env`, is readable and parses.

    R-ENV: the client reads its database settings from db.env, as Docker Compose parses it.
    """
    for host, snapshot in each_host(deployment, verdict, lambda h: h.db_env_file):
        _judge_db_env_file(host, snapshot, verdict)


def _judge_db_env_file(host, snapshot, verdict) -> None:
    where, subject = f"{snapshot.path} on {host.profile.target}", host.subject(snapshot.path)
    if not snapshot.exists:
        return verdict.failed(subject, f"db.env not found at {where}")
    if snapshot.is_directory:
        return verdict.failed(subject, f"{where} is a directory, not a file")
    if not snapshot.readable:
        return verdict.failed(subject, f"db.env at {where} is not readable by the auditing account "
                                       f"(owner {snapshot.owner}, mode {snapshot.mode:04o})")
    try:
        env = host.db_env
    except DbEnvUnparsable as exc:
        return verdict.failed(subject, str(exc.error), line=exc.error.line)
    verdict.passed(subject, f"parsed, {len(env.entries)} variables", keys=list(env.values))


@check("ENV-002", "the five required WA_DB_* variables are set and non-empty", "critical",
       remediation="Set WA_DB_ENGINE, WA_DB_HOSTNAME, WA_DB_PORT, WA_DB_USERNAME and WA_DB_PASSWORD in db.env, "
                   "then recreate the containers (docker-compose up -d).", reads=("db_env",))
def test_env_002_required_variables(deployment, verdict):
    """WA_DB_ENGINE, _HOSTNAME, _PORT, _USERNAME, _PASSWORD set and non-empty.

    R-ENV: without these five the client cannot reach its database.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        missing = rules.missing_required(env.values)
        verdict.judge(host.subject(env.path), [f"{key} is missing or empty" for key in missing],
                      passed="all five required variables are set", missing=missing)


@check("ENV-003", "WA_DB_ENGINE is MYSQL or PGSQL", "high",
       remediation="Set WA_DB_ENGINE=MYSQL or WA_DB_ENGINE=PGSQL in db.env (the spellings of Meta's published files).",
       reads=("db_env",))
def test_env_003_engine(deployment, verdict):
    """WA_DB_ENGINE is `MYSQL` or `PGSQL` (case-insensitive).

    R-ENV: the client supports MySQL or PostgreSQL, named MYSQL / PGSQL in db.env.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        engine = env.values.get("WA_DB_ENGINE")
        verdict.judge(host.subject(env.path), rules.engine_problems(engine), passed=f"WA_DB_ENGINE is {engine}", engine=engine)


@check("ENV-004", "WA_DB_PORT is an integer 1-65535", "high",
       remediation="Set WA_DB_PORT in db.env to the database server's TCP port (3306 for MySQL, 5432 for PostgreSQL by default).",
       reads=("db_env",))
def test_env_004_port(deployment, verdict):
    """WA_DB_PORT is an integer 1–65535.

    R-ENV: WA_DB_PORT is the TCP port of the database server.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        port = env.values.get("WA_DB_PORT")
        verdict.judge(host.subject(env.path), rules.port_problems(port), passed=f"WA_DB_PORT is {port}", port=port)


@check("ENV-005", "WA_DB_CONNECTION_IDLE_TIMEOUT, if set, is MySQL-only positive milliseconds", "medium",
       remediation="With MySQL, set WA_DB_CONNECTION_IDLE_TIMEOUT in milliseconds (Meta's sample: 180000); "
                   "with PostgreSQL remove it, it has no effect.", reads=("db_env",))
def test_env_005_idle_timeout(deployment, verdict):
    """WA_DB_CONNECTION_IDLE_TIMEOUT, if set: MySQL only, positive milliseconds; under 1000 is flagged
    as probably seconds.

    R-ENV: the idle timeout is in milliseconds and only supported by MySQL.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        timeout = env.values.get("WA_DB_CONNECTION_IDLE_TIMEOUT")
        if timeout is None:
            verdict.passed(host.subject(env.path), "WA_DB_CONNECTION_IDLE_TIMEOUT is not set")
            continue
        problems = rules.idle_timeout_problems(timeout, env.values.get("WA_DB_ENGINE"))
        verdict.judge(host.subject(env.path), problems, passed=f"WA_DB_CONNECTION_IDLE_TIMEOUT is {timeout} ms", idle_timeout_ms=timeout)


@check("ENV-006", "WA_DB_NAME_PREFIX is a valid identifier prefix, distinct per shared database server", "medium",
       remediation="Set WA_DB_NAME_PREFIX to a short name of letters, digits and _ (e.g. prod1_), "
                   "different for every deployment that uses the same database server.", reads=("db_env",))
def test_env_006_name_prefix(deployment, fleet, verdict):
    """WA_DB_NAME_PREFIX uses letters, digits, `_`, fits the identifier limit; deployments of one run
    sharing a DB server have distinct prefixes.

    R-ENV: the prefix lets several deployments share one database host, so it must be unique there.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        prefix = env.values.get("WA_DB_NAME_PREFIX") or ""
        problems = rules.prefix_problems(prefix, env.values.get("WA_DB_ENGINE")) if prefix else []
        sharing = rules.sharing_namespace(deployment.name, _namespaces(fleet))
        if sharing:
            shown = repr(prefix) if prefix else "no prefix"
            problems.append(f"{', '.join(sharing)} use{'s' if len(sharing) == 1 else ''} the same database server with {shown}: their databases collide")
        verdict.judge(host.subject(env.path), problems, passed=f"WA_DB_NAME_PREFIX is {prefix!r}" if prefix else "WA_DB_NAME_PREFIX is not set, and no other audited deployment shares the server",
                      prefix=prefix, sharing_server_and_prefix=sharing, database_server=_server(deployment))


def _server(deployment) -> str | None:
    """The database server as comparable across runs (`wa-compliance merge` of shards)."""
    try:
        engine, machine, address, port = deployment.db_server_key
    except FactUnavailable:
        return None
    return f"{engine.lower()}://{address}:{port}" + (f" on {machine}" if machine else "")


def _namespaces(fleet) -> dict:
    """Each audited deployment's (database server, prefix), where it could be read."""
    found = {}
    for other in fleet:
        try:
            found[other.name] = other.database_namespace
        except FactUnavailable:
            pass
    return found


@check("ENV-007", "no unknown WA_DB_* variable", "low",
       remediation="Rename or remove the unknown WA_DB_* variables in db.env; the client ignores them.",
       reads=("db_env",))
def test_env_007_unknown_variables(deployment, verdict):
    """No unknown WA_DB_* variable; names the closest known one.

    R-ENV: a misspelt variable (WA_DB_HOST) is silently ignored and its setting lost.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        unknown = rules.unknown_variables(env.values)
        problems = [f"{key} (line {env.line_of(key)}) is not a known variable" + (f"; did you mean {close}?" if close else "")
                    for key, close in unknown.items()]
        verdict.judge(host.subject(env.path), problems, passed="every WA_DB_* variable is known", unknown=list(unknown))


@check("ENV-008", "containers run with the WA_DB_* values of db.env", "high",
       remediation="Recreate the containers so they read the current db.env: "
                   "docker-compose up -d --force-recreate (in the deployment's folder).",
       reads=("db_env", "containers"))
def test_env_008_containers_match_db_env(deployment, verdict):
    """Every Webapp/Coreapp/Master container runs with db.env's WA_DB_* values.

    R-ENV: Coreapp and Webapp read db.env when created; an edited file needs new containers.
    """
    for container in containers_to_check(deployment, verdict, running=True):
        # each container against its own host's db.env (ENV-012 compares the hosts' files)
        drift = rules.env_drift(deployment.site_of(container).db_env.values, container.env)
        verdict.judge(container.subject, drift, passed="WA_DB_* values match db.env", role=container.role)


@check("ENV-009", "the database server accepts db.env's credentials", "critical", upgrade=True,
       remediation="Make WA_DB_USERNAME/WA_DB_PASSWORD in db.env match an account on the database server "
                   "(or set the profile's database.host/port to where the auditor reaches it).",
       reads=("database_server",))
def test_env_009_database_login(deployment, verdict):
    """The DB server accepts the credentials; reports its version.

    R-ENV: Coreapp and Webapp connect with these settings; the audit logs in the same way,
    read-only.
    """
    login = deployment.db_login
    audit_account = deployment.profile.database.user
    if audit_account:
        # the profile logs in with an audit account of its own: db.env's credentials are not tried
        deployment.database_server      # still reached (GC-001 needs it): an error shows here
        return verdict.skipped(login.url(), f"the profile logs in as database.user {audit_account!r}, "
                                            "not with db.env's credentials: they are not verified")
    try:
        server = deployment.database_server
    except CredentialsRejected as exc:
        return verdict.failed(login.url(), f"the server refused the login: {exc}")
    except TlsFailed as exc:
        return verdict.failed(login.url(), f"TLS as db.env sets it cannot work: {exc}")
    tls = deployment.db_tls
    over = f" over TLS ({tls.described}, server certificate verified)" if tls and tls.ca else (
        f" over TLS ({tls.described})" if tls else "")
    verdict.passed(login.url(), f"logged in as {login.user}{over}; server version {server.version}",
                   server_version=server.version)


@check("ENV-010", "db.env is private and its password is not a sample", "high",
       remediation="chmod 600 db.env (owner root), and set WA_DB_PASSWORD to a unique secret of 12+ characters "
                   "on the server and in db.env, then recreate the containers.", reads=("db_env",))
def test_env_010_secret_hygiene(deployment, verdict):
    """`db.env` not readable by others; password not `testpass`, 12+ characters.

    R-ENV: db.env holds the database password: it must not be readable by others or guessable.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        snapshot = host.db_env_file
        problems = []
        if snapshot.mode is not None and snapshot.mode & 0o007:
            problems.append(f"db.env is mode {snapshot.mode:04o}, readable by others (expected no access for others, e.g. 0600)")
        problems += rules.password_problems(host.db_password)
        verdict.judge(host.subject(env.path), problems, passed=f"mode {snapshot.mode:04o}, password not a sample and long enough",
                      mode=f"{snapshot.mode:04o}")


@check("ENV-011", "the database user is not a superuser (root)", "low",
       remediation="Create a dedicated database user for the client with rights on its own databases only, "
                   "and set it as WA_DB_USERNAME.", reads=("db_env",))
def test_env_011_not_root(deployment, verdict):
    """The DB user is not `root` (nor `postgres` on PostgreSQL).

    Least privilege: Meta's sample db.env logs in as root; production should not.
    """
    for host, env in each_host(deployment, verdict, lambda h: h.db_env):
        user, engine = env.values.get("WA_DB_USERNAME"), (env.values.get("WA_DB_ENGINE") or "").upper()
        if not user:
            verdict.skipped(host.subject(env.path), "WA_DB_USERNAME is not set (see ENV-002)")
            continue
        superusers = rules.SUPERUSERS.get(engine, ("root",))
        problems = [f"WA_DB_USERNAME is {user!r}, a superuser account"] if user in superusers else []
        verdict.judge(host.subject(env.path), problems, passed=f"WA_DB_USERNAME is {user!r}", user=user)




@check("ENV-012", "every host of the deployment has the same WA_DB_* values in db.env", "high",
       remediation="Make db.env identical on every host of the deployment (copy it from one host), then "
                   "recreate the containers on the hosts whose file changed (docker-compose up -d).",
       reads=("db_env",))
def test_env_012_hosts_agree(deployment, verdict):
    """On a deployment spanning hosts, every host's db.env has the same WA_DB_* values; the password
    is compared, never shown.

    R-ENV: the containers of every host use one database: one set of settings, or some of them
    write to another database (or none).
    """
    if len(deployment.hosts) == 1:
        return verdict.skipped(deployment.name, "the deployment runs on one host: nothing to compare")
    values = {host.label: env.values for host, env in each_host(deployment, verdict, lambda h: h.db_env)}
    problems = rules.host_disagreements(values)
    unread = [host.label for host in deployment.hosts if host.label not in values]
    missing = f" (not read: {', '.join(unread)})" if unread else ""
    if problems:
        verdict.failed(deployment.name, "; ".join(problems) + missing, hosts=sorted(values))
    elif missing:
        verdict.error(deployment.name, f"{', '.join(values)} agree, but not every host's db.env could be read{missing}")
    else:
        verdict.passed(deployment.name, f"{', '.join(values)} have the same WA_DB_* values", hosts=sorted(values))
