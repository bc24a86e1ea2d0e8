# shellcheck shell=bash
# Private Postgres clusters (Unix socket only, no TCP), started unless
# DATABASE_URL is already set. Sourced by scripts/run and scripts/test.
# Postgres refuses to run as root, so as root a cluster runs as the
# unprivileged system user cliploop-pg.
#
# Two clusters, chosen by CL_PG_PROFILE before sourcing this file:
#   run  (default, scripts/run)  var/pg, socket var/run, log var/pg.log —
#        real users' data: durable (fsync, synchronous_commit and
#        full_page_writes on). A running cluster that is not durable (one
#        started by an older scripts/test, which shared var/pg) is restarted
#        durable.
#   test (scripts/test)          var/pg-test, socket var/run-test, log
#        var/pg-test.log — throwaway test databases only: fsync,
#        synchronous_commit and full_page_writes off for speed.
#   private (fault tests)        a throwaway cluster of one test file, which
#        it may stop and start at will: the caller sets CL_PG_DATA,
#        CL_PG_SOCK and CL_PG_LOG (tests/api/lib/private_pg.mjs does); the
#        test settings.
#
# After cl_pg_start: DATABASE_URL points at database "cliploop", and
# CLIPLOOP_PG_ADMIN_URL at the "postgres" database (tests create their own
# databases through it). A cluster that is already running (another terminal,
# another checkout's scripts/run) is reused; nothing here stops it except
# cl_pg_stop (scripts/run --stop-db).

# CL_PG_BINDIR may be set by the caller; otherwise the newest installed
# version is used, looked up when needed (the package may be installed after
# this file is sourced).
CL_PG_BINDIR=${CL_PG_BINDIR:-}
CL_PG_PROFILE=${CL_PG_PROFILE:-run}
if [ "$CL_PG_PROFILE" = private ]; then
  : "${CL_PG_DATA:?the private profile needs CL_PG_DATA}" "${CL_PG_SOCK:?}" "${CL_PG_LOG:?}"
  CL_PG_SETTINGS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  CL_PG_INITDB_LOG="$CL_PG_LOG.initdb"
elif [ "$CL_PG_PROFILE" = test ]; then
  CL_PG_DATA="$CL_ROOT/var/pg-test"
  CL_PG_SOCK="$CL_ROOT/var/run-test"
  CL_PG_LOG="$CL_ROOT/var/pg-test.log"
  CL_PG_SETTINGS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
else
  CL_PG_DATA="$CL_ROOT/var/pg"
  CL_PG_SOCK="$CL_ROOT/var/run"
  CL_PG_LOG="$CL_ROOT/var/pg.log"
  CL_PG_SETTINGS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
fi
CL_PG_USER=cliploop-pg
CL_PG_INITDB_LOG=${CL_PG_INITDB_LOG:-$CL_ROOT/var/initdb.log}

cl_pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$CL_PG_USER" -- "$@"
  else
    "$@"
  fi
}

cl_pg_find_bindir() {
  if [ -z "$CL_PG_BINDIR" ] || [ ! -x "$CL_PG_BINDIR/initdb" ]; then
    CL_PG_BINDIR=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
}

# True when a server accepts connections on the private socket.
cl_pg_running() {
  cl_pg_find_bindir
  if [ -x "$CL_PG_BINDIR/pg_isready" ]; then
    "$CL_PG_BINDIR/pg_isready" -q -h "$CL_PG_SOCK" -U postgres -d postgres >/dev/null 2>&1
  else
    psql -X "postgresql:///postgres?host=$CL_PG_SOCK&user=postgres" -tAc 'SELECT 1' >/dev/null 2>&1
  fi
}

cl_pg_start() {
  if [ -n "${DATABASE_URL:-}" ]; then
    export CLIPLOOP_PG_ADMIN_URL=${CLIPLOOP_PG_ADMIN_URL:-$DATABASE_URL}
    return 0
  fi
  if cl_pg_running; then
    if [ "$CL_PG_PROFILE" != run ] || cl_pg_durable; then
      cl_pg_export_urls
      return 0
    fi
    echo "the Postgres cluster in ${CL_PG_DATA#"$CL_ROOT"/} runs without fsync/synchronous_commit/full_page_writes: restarting it durable" >&2
    cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" -m fast -w -t 60 stop >/dev/null || return 1
    # Pages written while fsync was off may still sit in the page cache.
    sync
  fi
  [ -x "$CL_PG_BINDIR/initdb" ] || { echo "postgres binaries not found (is the postgresql package installed?)" >&2; return 1; }
  if [ "$(id -u)" = 0 ] && ! id "$CL_PG_USER" >/dev/null 2>&1; then
    useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin "$CL_PG_USER"
  fi
  mkdir -p "$CL_ROOT/var" "$CL_PG_SOCK"
  if [ "$(id -u)" = 0 ]; then
    chown "$CL_PG_USER" "$CL_PG_SOCK"
    # The cluster user must be able to reach var/ through the checkout.
    chmod o+x "$CL_ROOT" "$CL_ROOT/var" 2>/dev/null || true
    d=$CL_ROOT; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [ ! -f "$CL_PG_DATA/PG_VERSION" ]; then
    mkdir -p "$CL_PG_DATA"
    [ "$(id -u)" = 0 ] && chown "$CL_PG_USER" "$CL_PG_DATA"
    cl_pg_as_owner "$CL_PG_BINDIR/initdb" -D "$CL_PG_DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$CL_PG_INITDB_LOG" 2>&1 \
      || { cat "$CL_PG_INITDB_LOG" >&2; return 1; }
  fi
  if ! cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" status >/dev/null 2>&1; then
    touch "$CL_PG_LOG"; [ "$(id -u)" = 0 ] && chown "$CL_PG_USER" "$CL_PG_LOG"
    cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" -l "$CL_PG_LOG" -w -t 60 \
      -o "-k $CL_PG_SOCK -c listen_addresses='' -c max_connections=200 $CL_PG_SETTINGS" start >/dev/null \
      || { tail -n 20 "$CL_PG_LOG" >&2; return 1; }
  fi
  cl_pg_export_urls
}

# True when the running cluster has fsync, synchronous_commit and
# full_page_writes on.
cl_pg_durable() {
  local v
  v=$(psql -X -tA "postgresql:///postgres?host=$CL_PG_SOCK&user=postgres" \
    -c "SELECT current_setting('fsync') || current_setting('synchronous_commit') || current_setting('full_page_writes')" 2>/dev/null) || return 1
  [ "$v" = ononon ]
}

# Export the admin URL and DATABASE_URL (creating database "cliploop" if needed).
cl_pg_export_urls() {
  export CLIPLOOP_PG_ADMIN_URL="postgresql:///postgres?host=$CL_PG_SOCK&user=postgres"
  if ! psql -X "$CLIPLOOP_PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname='cliploop'" | grep -q 1; then
    psql -X "$CLIPLOOP_PG_ADMIN_URL" -qc "CREATE DATABASE cliploop" >/dev/null
  fi
  export DATABASE_URL="postgresql:///cliploop?host=$CL_PG_SOCK&user=postgres"
}

cl_pg_stop() {
  cl_pg_find_bindir
  if [ -f "$CL_PG_DATA/PG_VERSION" ]; then
    cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" -m fast stop >/dev/null 2>&1 || true
  fi
}
