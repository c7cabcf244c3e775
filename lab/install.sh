#!/usr/bin/env bash
# Prepares this machine for the lab: packages, Docker engine, MariaDB, PostgreSQL 15, cron,
# Prometheus (the package only: lab/prometheus.py starts its own servers).
# Idempotent and quiet: what is installed and running is left alone; only failures print.
# Runs as root without a TTY (CI). Every service listens on 127.0.0.1 only.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
LOG=/var/log/wa-lab-install.log
: >"$LOG"

fail() {
    echo "lab/install.sh: $*" >&2
    if [ -s "$LOG" ]; then
        echo "--- last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2
    fi
    exit 1
}

[ "$(id -u)" = 0 ] || fail "must run as root"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Poll a probe command once a second for up to $1 seconds.
wait_for() {
    local seconds=$1; shift
    for _ in $(seq "$seconds"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}

# --- packages: apt-get update only when something is missing --------------------------
# chromium: tests/lab/test_report_browser.py renders the HTML reports in it, headless.
# sshfs: the simulated hosts of lab/cluster.py mount their shared media storage with it.
# openssh-server: the SSH tests start their own sshd on 127.0.0.1 (lab/sshd.py); the
# package's own service is never started.
# sudo: tests/lab/test_become.py audits as an account that runs host commands through it.
wanted=(docker.io docker-compose mariadb-server mariadb-client cron logrotate busybox-static chromium openssh-server openssl sshfs sudo)
command -v pg_ctlcluster >/dev/null 2>&1 || wanted+=(postgresql-15)
missing=()
for pkg in "${wanted[@]}"; do installed "$pkg" || missing+=("$pkg"); done
# prometheus (and its promtool): lab/prometheus.py runs servers of its own on 127.0.0.1 over
# backfilled request history; the package's service is never started. Installed apart, without
# its recommended packages (node-exporter and other exporters would be services too).
bare=()
installed prometheus || bare+=(prometheus)

updated=
# apt-get install, with the given options, of the packages after `--`.
apt_install() {
    local options=() rc=0 own_policy=
    while [ "$1" != -- ]; do options+=("$1"); shift; done; shift
    if [ -z "$updated" ]; then
        timeout 600 apt-get update -q >>"$LOG" 2>&1 || fail "apt-get update failed"
        updated=1
    fi
    # A policy-rc.d answering 101 keeps package scripts from starting services (there is
    # no init system here); this script starts them itself below. Ours only if none exists.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    timeout 1200 apt-get install -y -q "${options[@]}" "$@" >>"$LOG" 2>&1 || rc=$?
    [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || fail "apt-get install $* failed"
}
[ ${#missing[@]} = 0 ] || apt_install -- "${missing[@]}"
[ ${#bare[@]} = 0 ] || apt_install --no-install-recommends -- "${bare[@]}"

# --- Docker engine -------------------------------------------------------------------
# --ip=127.0.0.1: any port a container publishes binds to loopback only.
if ! timeout 10 docker info >/dev/null 2>&1; then
    setsid dockerd --ip=127.0.0.1 >/var/log/dockerd.log 2>&1 < /dev/null &
    wait_for 60 timeout 10 docker info || fail "dockerd did not start (see /var/log/dockerd.log)"
fi

# --- MariaDB on 127.0.0.1:3306, with TLS -----------------------------------------------
# The TLS material is machine setup, like the packages (lab purge keeps it): a CA, the server's
# certificate (127.0.0.1), a client certificate for REQUIRE X509 accounts, and a second CA
# that signed none of them (what a wrong WA_DB_SSL_CA holds). Made once.
TLS_DIR=/etc/mysql/wa-lab-tls
new_tls=
if [ ! -s "$TLS_DIR/client-key.pem" ]; then
    install -d -m 755 "$TLS_DIR"
    (
        cd "$TLS_DIR"
        ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$3" -keyout "$1" -out "$2"; }
        signed() {  # name CN extension
            openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1-key.pem" -out "$1.csr"
            printf '%s\n' "$3" > "$1.ext"
            openssl x509 -req -days 3650 -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
                -extfile "$1.ext" -out "$1-cert.pem"
            rm -f "$1.csr" "$1.ext"
        }
        ca ca-key.pem ca.pem "wa-lab database CA"
        ca other-ca-key.pem other-ca.pem "wa-lab unrelated CA"
        signed server 127.0.0.1 "subjectAltName=IP:127.0.0.1"
        signed client "wa-lab client" "extendedKeyUsage=clientAuth"
        chown mysql server-key.pem && chmod 600 ./*-key.pem
    ) >>"$LOG" 2>&1 || fail "could not make the database TLS certificates in $TLS_DIR"
    new_tls=1
fi
# mariadb-admin ping exits 0 whenever the server answers, even if it refuses the login.
mariadb_up() { timeout 5 mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 --connect-timeout=3 ping; }
mariadb_tls() { [ "$(mariadb -uroot -N -e "SELECT @@have_ssl" 2>/dev/null)" = YES ]; }
if mariadb_up >/dev/null 2>&1 && { [ -n "$new_tls" ] || ! mariadb_tls; }; then
    # running without these certificates: restart it with them
    timeout 60 mariadb-admin -uroot shutdown >>"$LOG" 2>&1 || fail "could not stop MariaDB to enable TLS"
fi
if ! mariadb_up >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd \
        -- --user=mysql --bind-address=127.0.0.1 --port=3306 --ssl-ca="$TLS_DIR/ca.pem" \
        --ssl-cert="$TLS_DIR/server-cert.pem" --ssl-key="$TLS_DIR/server-key.pem" >>"$LOG" 2>&1
    wait_for 60 mariadb_up || fail "MariaDB did not answer on 127.0.0.1:3306"
fi
mariadb_tls || fail "MariaDB runs without TLS (see $LOG)"

# --- PostgreSQL 15 "main" on port 5432 (listen_addresses defaults to localhost) -------
pg_up() { timeout 5 pg_isready -q -h 127.0.0.1 -p 5432 -t 3; }
if ! pg_up; then
    if ! pg_lsclusters -h 2>/dev/null | awk '$1 == "15" && $2 == "main"' | grep -q .; then
        pg_createcluster 15 main -p 5432 >>"$LOG" 2>&1 || fail "pg_createcluster 15 main failed"
    fi
    timeout 60 pg_ctlcluster --skip-systemctl-redirect 15 main start >>"$LOG" 2>&1 \
        || fail "PostgreSQL 15 main did not start"
    wait_for 30 pg_up || fail "PostgreSQL did not answer on 127.0.0.1:5432"
fi

# --- Debian's cron daemon (R-CRON: reads the lab's /etc/cron.d/wa-lab-* files) ------------
# It forks into the background by itself and records its PID in /run/crond.pid; a stopped
# one may linger a moment as a zombie (state Z) until init reaps it.
cron_up() {
    local pid comm state
    pid=$(cat /run/crond.pid 2>/dev/null) || return 1
    read -r _ comm state _ 2>/dev/null <"/proc/$pid/stat" || return 1
    [ "$comm" = "(cron)" ] && [ "$state" != Z ]
}
if ! cron_up; then
    /usr/sbin/cron >>"$LOG" 2>&1 || fail "cron did not start"
    wait_for 10 cron_up || fail "cron did not record its PID in /run/crond.pid"
fi
