# shellcheck shell=bash
# Private Postgres cluster under var/pg (Unix socket in var/run, no TCP),
# started unless DATABASE_URL is already set. Sourced by scripts/run and
# scripts/test. Postgres refuses to run as root, so as root the cluster runs
# as the unprivileged system user cliploop-pg.
#
# After cl_pg_start: DATABASE_URL points at database "cliploop", and
# CLIPLOOP_PG_ADMIN_URL at the "postgres" database (tests create their own
# databases through it). A cluster that is already running (another terminal,
# another checkout's scripts/run) is reused as it is; nothing here stops it
# except cl_pg_stop (scripts/run --stop-db).

# CL_PG_BINDIR may be set by the caller; otherwise the newest installed
# version is used, looked up when needed (the package may be installed after
# this file is sourced).
CL_PG_BINDIR=${CL_PG_BINDIR:-}
CL_PG_DATA="$CL_ROOT/var/pg"
CL_PG_SOCK="$CL_ROOT/var/run"
CL_PG_USER=cliploop-pg

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
    cl_pg_export_urls
    return 0
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
    cl_pg_as_owner "$CL_PG_BINDIR/initdb" -D "$CL_PG_DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$CL_ROOT/var/initdb.log" 2>&1 \
      || { cat "$CL_ROOT/var/initdb.log" >&2; return 1; }
  fi
  if ! cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" status >/dev/null 2>&1; then
    touch "$CL_ROOT/var/pg.log"; [ "$(id -u)" = 0 ] && chown "$CL_PG_USER" "$CL_ROOT/var/pg.log"
    cl_pg_as_owner "$CL_PG_BINDIR/pg_ctl" -D "$CL_PG_DATA" -l "$CL_ROOT/var/pg.log" -w -t 60 \
      -o "-k $CL_PG_SOCK -c listen_addresses='' -c max_connections=200 -c fsync=off" start >/dev/null \
      || { tail -n 20 "$CL_ROOT/var/pg.log" >&2; return 1; }
  fi
  cl_pg_export_urls
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
