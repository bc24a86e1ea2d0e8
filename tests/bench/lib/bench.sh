# shellcheck shell=bash
# Helpers for the benchmarks under tests/bench/. Sourced after
# scripts/lib/common.sh (cl_say, cl_die, cl_as_root, cl_ensure_packages).
#
#   cl_bench_ensure_h2o             install Debian's h2o server without starting its service
#   cl_bench_h2o_conf DIR PORT N    print an h2o.conf serving DIR/www on 127.0.0.1:PORT, N threads
#   cl_bench_wait_http URL PID      wait (<= 15 s) until URL answers; fails if PID died
#   cl_bench_stop PID               SIGTERM, then SIGKILL after 5 s; returns its exit status
#   cl_bench_wrk URL DURATION CONNS [HEADER]
#                                   print "RPS" or "RPS note" (note: non-2xx / socket errors);
#                                   HEADER ("Name: value") is sent with every request
#   cl_bench_ratio A B              print A/B with two decimals ("-" when unknown)

# The reference server. The package's postinst would start a system-wide
# h2o on port 80; a temporary policy-rc.d stops that, and the systemd unit it
# enabled is disabled again.
cl_bench_ensure_h2o() {
    command -v h2o >/dev/null 2>&1 && return 0
    local policy=/usr/sbin/policy-rc.d added=0
    if [ ! -e "$policy" ]; then
        cl_as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy" && added=1
    fi
    local rc=0
    cl_ensure_packages h2o || rc=$?
    [ $added = 1 ] && cl_as_root rm -f "$policy"
    [ $rc = 0 ] || return $rc
    if [ -d /run/systemd/system ]; then
        cl_as_root systemctl disable --now h2o >/dev/null 2>&1 || true
    elif command -v systemctl >/dev/null 2>&1; then
        cl_as_root systemctl disable h2o >/dev/null 2>&1 || true
    fi
    command -v h2o >/dev/null 2>&1 || cl_die "the h2o package did not provide an h2o binary"
}

cl_bench_h2o_conf() {
    local dir=$1 port=$2 threads=$3
    cat <<EOF
# Reference server for tests/bench/http: static files, no access log.
listen:
  host: 127.0.0.1
  port: $port
num-threads: $threads
hosts:
  default:
    paths:
      /:
        file.dir: $dir/www
EOF
}

cl_bench_wait_http() {
    local url=$1 pid=$2
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -sf -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.05
    done
    return 1
}

cl_bench_stop() {
    local pid=$1 rc=0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
    return $rc
}

cl_bench_wrk() {
    local url=$1 dur=$2 conns=$3 out rps non2xx sockerr note= hdr=()
    [ -n "${4:-}" ] && hdr=(-H "$4")
    timeout --foreground 10 wrk -t1 -c"$conns" -d1s "${hdr[@]}" "$url" >/dev/null 2>&1 || true
    out=$(timeout --foreground 30 wrk -t1 -c"$conns" -d"$dur" --timeout 2s "${hdr[@]}" "$url" 2>&1) || true
    rps=$(sed -nE 's/^Requests\/sec:[[:space:]]+([0-9.]+).*/\1/p' <<<"$out")
    non2xx=$(sed -nE 's/^[[:space:]]*Non-2xx or 3xx responses:[[:space:]]+([0-9]+).*/\1/p' <<<"$out")
    sockerr=$(sed -nE 's/^[[:space:]]*Socket errors:[[:space:]]+(.*)/\1/p' <<<"$out")
    [ -n "$non2xx" ] && note="$non2xx non-2xx responses"
    [ -n "$sockerr" ] && note="${note:+$note, }socket errors: $sockerr"
    echo "${rps:--}${note:+ $note}"
}

cl_bench_ratio() {
    awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN {
        if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}
