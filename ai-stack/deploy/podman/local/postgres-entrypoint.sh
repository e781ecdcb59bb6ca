#!/bin/sh
# First start: initdb with the password from POSTGRES_PASSWORD_FILE, then the database; every
# start: postgres on all of the container's addresses (only the stack's network reaches them).
set -eu
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  initdb -D "${PGDATA}" -U "${POSTGRES_USER}" --pwfile="${POSTGRES_PASSWORD_FILE}" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  echo "host all all all scram-sha-256" >>"${PGDATA}/pg_hba.conf"
  pg_ctl -D "${PGDATA}" -o "-c listen_addresses=''" -w start >/dev/null
  createdb -U "${POSTGRES_USER}" "${POSTGRES_DB}"
  pg_ctl -D "${PGDATA}" -m fast -w stop >/dev/null
fi
exec postgres -D "${PGDATA}" -c listen_addresses='*'
