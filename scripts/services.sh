#!/usr/bin/env bash
# Makes sure the services the integration, cluster and chaos tests use are installed and running on
# 127.0.0.1: MariaDB 3306 (root, no password), Redis 6379, NATS with JetStream 4222; that Prometheus
# (Debian's package: promtool and the server) is installed for test/deploy, which starts its own; and that Debian's
# chromium is installed (/usr/bin/chromium) for the console's browser tests (test/console). Idempotent: what is
# already listening is left alone. On a machine without them (Debian/Ubuntu: apt-get) it installs the
# packages and starts the servers in the background. Needs root, or sudo.
#
#   bash scripts/services.sh        # `npm run test:all` and .ci/run call it before `npm test`
set -euo pipefail

log() { printf '\n== %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # name port seconds
  local deadline=$((SECONDS + $3))
  until port_open "$2"; do
    if ((SECONDS >= deadline)); then
      echo "$1 did not open port $2 within $3 s" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "$1 is up on port $2"
}

SUDO=
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
fi

need_root() { # what
  if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
    echo "scripts/services.sh: $1 needs root (or sudo); or start MariaDB, Redis and NATS (-js) yourself" >&2
    exit 1
  fi
}

installed() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

FRESH_MARIADB=
ensure_installed() { # binary package
  if installed "$1"; then return; fi
  need_root "installing $2"
  log "installing $2 (no $1 on this machine)"
  if [ -z "${APT_UPDATED:-}" ]; then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  if [ "$2" = mariadb-server ]; then FRESH_MARIADB=1; fi
}

log "services"
ensure_installed mariadbd mariadb-server
ensure_installed redis-server redis-server
ensure_installed nats-server nats-server
# Not a service the tests share: test/deploy runs promtool and starts private prometheus servers.
ensure_installed promtool prometheus
# The console's browser tests drive the system chromium through playwright-core (no browser download).
ensure_installed chromium chromium

# apt-get starts the servers where systemd runs; in a container nothing does, so start them here.
if ! port_open 3306; then
  need_root "starting MariaDB"
  $SUDO mkdir -p /run/mysqld
  $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
if ! port_open 6379; then
  need_root "starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! port_open 4222; then
  need_root "starting NATS"
  $SUDO mkdir -p /var/lib/nats-server
  $SUDO start-stop-daemon --start --oknodo --background \
    --exec "$(command -v nats-server || echo /usr/sbin/nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
wait_for_port MariaDB 3306 60
wait_for_port Redis 6379 30
wait_for_port NATS 4222 30

# A MariaDB installed just now lets root in through the Unix socket only; the tests connect over TCP as
# root without a password (or to BFLOW_TEST_MYSQL_URL). Without this they would still pass, but each test
# file would start a private mariadbd of its own. A MariaDB that was already here is left as it is.
if [ -n "$FRESH_MARIADB" ]; then
  log "MariaDB: root over TCP from 127.0.0.1 without a password, for the tests"
  $SUDO mariadb -uroot -e "
    ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
fi

# Every bflow process the suite starts holds its writers' connections (BFLOW_WRITERS, 8) and a pool beside
# them; parallel cluster tests can pass MariaDB's default of 151. Raised for the running server only.
mariadb -h 127.0.0.1 -uroot -e "SET GLOBAL max_connections = GREATEST(@@max_connections, 500)" 2>/dev/null ||
  $SUDO mariadb -uroot -e "SET GLOBAL max_connections = GREATEST(@@max_connections, 500)" ||
  log "MariaDB: could not raise max_connections (the suite may run out of connections)"
