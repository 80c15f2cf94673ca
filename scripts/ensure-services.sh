#!/usr/bin/env bash
# Starts PostgreSQL and MariaDB when they are not answering, with the same commands the machine image
# uses, and waits until they accept connections.
set -euo pipefail

wait_for() { # name, probe command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "ensure-services: $name did not come up" >&2
  return 1
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
if ! pg_up; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  wait_for PostgreSQL pg_up
fi

maria_up() { mariadb -h 127.0.0.1 -P 3306 -u root -e 'select 1'; }
if command -v mariadb >/dev/null 2>&1 && ! maria_up; then
  echo "ensure-services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_for MariaDB maria_up
fi
