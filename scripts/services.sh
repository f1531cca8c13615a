#!/usr/bin/env bash
# Real servers for the specs that need them (`npm run test:services`).
#
#   scripts/services.sh start NAME…   install when missing (Debian packages), start on loopback on a
#                                     non-default port with data in a fresh temp dir, wait until ready
#   scripts/services.sh stop [NAME…]  stop them (all when no name is given) and remove their temp dirs
#   scripts/services.sh env           print `export KEY=value` lines with the connection info
#   scripts/services.sh status        list what runs
#
# Services and what `env` exports:
#   prometheus  PROMETHEUS_URL, PROMETHEUS_JOB, METRICS_TARGET_PORT (Prometheus scrapes
#               127.0.0.1:$METRICS_TARGET_PORT/metrics every second; the spec serves it), PROMTOOL
#   postgres    DATABASE_URL, PGHOST, PGPORT, PGUSER, PGDATABASE
#
# Ports come from PROMETHEUS_PORT (19090), METRICS_TARGET_PORT (19464), POSTGRES_PORT (54329). The
# bookkeeping lives in SERVICES_DIR (default ${TMPDIR:-/tmp}/fs-mediator-services-$UID): one line per
# running service naming its temp dir, plus the env file. Every failure exits non-zero with a message
# on stderr and the tail of the server's log; nothing is ever skipped silently.
#
# Adding a service: write install_NAME, start_NAME (writes "$dir/env"; records "$dir/pid" if it is a
# plain process) and stop_NAME, and list NAME in SERVICES below.
set -euo pipefail

SERVICES="prometheus postgres"
SERVICES_DIR=${SERVICES_DIR:-${TMPDIR:-/tmp}/fs-mediator-services-$(id -u)}
ENV_FILE="$SERVICES_DIR/services.env"
READY_TIMEOUT=${SERVICES_READY_TIMEOUT:-30} # seconds

PROMETHEUS_PORT=${PROMETHEUS_PORT:-19090}
METRICS_TARGET_PORT=${METRICS_TARGET_PORT:-19464}
POSTGRES_PORT=${POSTGRES_PORT:-54329}

die() {
  echo "services.sh: $*" >&2
  exit 1
}
say() { echo "services.sh: $*" >&2; }

# --- helpers ---------------------------------------------------------------------------------------

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp: no extra tool).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() { # port, what
  if port_open "$1"; then
    die "port 127.0.0.1:$1 (for $2) is already in use; stop whatever holds it or choose another port"
  fi
}

http_ok() { # url → exit 0 when it answers 2xx
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
  fi
}

# Polls "$@" every 0.1 s until it succeeds, for at most READY_TIMEOUT seconds.
wait_until() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# A process that runs (a zombie does not: where PID 1 reaps orphans slowly, a stopped server can
# linger as one).
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  [ -r "/proc/$1/stat" ] || return 0 # no procfs: trust kill -0
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # fields after "(comm) ": the state comes first
  [ "${stat:0:1}" != Z ]
}

# The policy-rc.d apt_install created (empty when none): removed however the script ends.
OWN_POLICY_RC=
remove_own_policy() {
  [ -z "$OWN_POLICY_RC" ] || rm -f "$OWN_POLICY_RC"
  OWN_POLICY_RC=
}

# Installs Debian packages quietly when a command is missing. Keeps the package's own service from
# starting (a policy-rc.d that denies it, only if the machine has none, removed again on any exit
# or interrupt) so nothing takes the default port behind our back.
apt_install() { # packages…
  [ "$(id -u)" -eq 0 ] || die "need to install $* (Debian packages) but not running as root; install them first"
  command -v apt-get >/dev/null || die "need $* but apt-get is missing (not a Debian machine?); install them first"
  local log policy=/usr/sbin/policy-rc.d
  log=$(mktemp)
  if [ ! -e "$policy" ]; then
    trap remove_own_policy EXIT
    trap 'remove_own_policy; exit 130' INT
    trap 'remove_own_policy; exit 143' TERM
    OWN_POLICY_RC=$policy
    if ! { printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"; }; then
      remove_own_policy
    fi
  fi
  say "installing $* from Debian packages…"
  local ok=0
  export DEBIAN_FRONTEND=noninteractive
  # Try with the package lists there are first; update them only when that fails (saves ~10 s).
  if apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1 \
    || { apt-get update -qq >>"$log" 2>&1 && apt-get install -y -qq --no-install-recommends "$@" >>"$log" 2>&1; }; then
    ok=1
  fi
  remove_own_policy
  trap - EXIT INT TERM
  if [ "$ok" -ne 1 ]; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "apt-get install $* failed"
  fi
  rm -f "$log"
}

# --- prometheus ------------------------------------------------------------------------------------

install_prometheus() {
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    apt_install prometheus
    # The package's postinst enables its systemd unit (it would take port 9090 at the next boot)
    # and, where no policy-rc.d says no, starts it: undo both, we run our own.
    if command -v systemctl >/dev/null; then
      systemctl is-active --quiet prometheus 2>/dev/null && { systemctl stop prometheus || true; }
      systemctl disable prometheus >/dev/null 2>&1 || true # works offline: removes the symlinks
    fi
    if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
      die "prometheus/promtool still missing after installing the prometheus package"
    fi
  fi
}

start_prometheus() { # dir
  local dir=$1 url="http://127.0.0.1:$PROMETHEUS_PORT"
  require_free_port "$PROMETHEUS_PORT" prometheus
  require_free_port "$METRICS_TARGET_PORT" "the metrics endpoint the specs serve"
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: fs-mediator
    static_configs:
      - targets: ['127.0.0.1:$METRICS_TARGET_PORT']
EOF
  promtool check config "$dir/prometheus.yml" >"$dir/check-config.log" 2>&1 \
    || { cat "$dir/check-config.log" >&2; die "promtool rejected the generated prometheus.yml"; }
  setsid prometheus \
    --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --web.enable-lifecycle \
    --log.level=warn \
    >"$dir/prometheus.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  if ! wait_until ready_prometheus "$url" "$(cat "$dir/pid")"; then
    tail -n 20 "$dir/prometheus.log" >&2
    die "prometheus did not become ready on $url within ${READY_TIMEOUT}s (log above)"
  fi
  cat >"$dir/env" <<EOF
PROMETHEUS_URL=$url
PROMETHEUS_JOB=fs-mediator
METRICS_TARGET_PORT=$METRICS_TARGET_PORT
PROMTOOL=$(command -v promtool)
EOF
}

ready_prometheus() { # url, pid
  alive "$2" || die "prometheus exited during startup: $(tail -n 5 "$dir/prometheus.log")"
  http_ok "$1/-/ready"
}

stop_prometheus() { # dir
  stop_pid "$1" prometheus
}

# --- postgres --------------------------------------------------------------------------------------

pg_bindir() { # the newest /usr/lib/postgresql/N/bin with an initdb
  local d best=''
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] || continue
    if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1)" = "$d" ]; then best=$d; fi
  done
  [ -n "$best" ] && echo "$best"
}

# initdb refuses to run as root: as root, run the server as the postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_postgres() {
  pg_bindir >/dev/null || apt_install postgresql
  pg_bindir >/dev/null || die "no PostgreSQL server (initdb) under /usr/lib/postgresql/*/bin"
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    die "running as root but there is no postgres user to run the server as"
  fi
}

start_postgres() { # dir
  local dir=$1 bin
  bin=$(pg_bindir)
  require_free_port "$POSTGRES_PORT" postgres
  [ "$(id -u)" -ne 0 ] || chown postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed"; }
  # Logical replication on (issue 7's CDC specs); fsync off: test data need not survive a crash.
  if ! as_pg timeout "$READY_TIMEOUT" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t "$READY_TIMEOUT" \
    -o "-p $POSTGRES_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c wal_level=logical -c max_replication_slots=4 -c max_wal_senders=4" \
    start >>"$dir/initdb.log" 2>&1; then
    tail -n 20 "$dir/postgres.log" >&2 || true
    die "postgres did not start on 127.0.0.1:$POSTGRES_PORT within ${READY_TIMEOUT}s (log above)"
  fi
  cat >"$dir/env" <<EOF
DATABASE_URL=postgresql://postgres@127.0.0.1:$POSTGRES_PORT/postgres
PGHOST=127.0.0.1
PGPORT=$POSTGRES_PORT
PGUSER=postgres
PGDATABASE=postgres
EOF
}

stop_postgres() { # dir
  local dir=$1 bin
  bin=$(pg_bindir) || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 15 stop >/dev/null 2>&1 \
      || as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 15 stop >/dev/null 2>&1 \
      || say "could not stop postgres in $dir"
  fi
}

# --- generic ---------------------------------------------------------------------------------------

# Stops the process in "$dir/pid": TERM, up to 10 s, then KILL.
stop_pid() { # dir, name
  local pid
  pid=$(cat "$1/pid" 2>/dev/null || true)
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$2 (pid $pid) ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

known() { case " $SERVICES " in *" $1 "*) return 0 ;; esac; return 1; }
record() { echo "$SERVICES_DIR/$1.dir"; }
service_dir() { cat "$(record "$1")" 2>/dev/null || true; }

running() { # name → exit 0 when started and still up
  local dir pid
  dir=$(service_dir "$1")
  [ -n "$dir" ] && [ -f "$dir/env" ] || return 1
  case $1 in
    postgres) [ -f "$dir/data/postmaster.pid" ] && alive "$(head -n 1 "$dir/data/postmaster.pid")" ;;
    *) pid=$(cat "$dir/pid" 2>/dev/null || true) && alive "$pid" ;;
  esac
}

write_env() {
  local name dir tmp
  tmp="$ENV_FILE.tmp"
  : >"$tmp"
  for name in $SERVICES; do
    dir=$(service_dir "$name")
    [ -n "$dir" ] && [ -f "$dir/env" ] && sed 's/^/export /' "$dir/env" >>"$tmp"
  done
  mv "$tmp" "$ENV_FILE"
}

cmd_start() {
  [ $# -gt 0 ] || die "start: name at least one service ($SERVICES)"
  local name dir
  for name in "$@"; do known "$name" || die "unknown service '$name' (known: $SERVICES)"; done
  mkdir -p "$SERVICES_DIR"
  for name in "$@"; do
    if running "$name"; then
      say "$name already running ($(service_dir "$name"))"
      continue
    fi
    stop_one "$name" # leftovers of a crashed run
    "install_$name"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/fs-mediator-$name.XXXXXX")
    echo "$dir" >"$(record "$name")"
    local t0=$SECONDS
    if ! ("start_$name" "$dir"); then
      stop_one "$name"
      write_env
      die "$name failed to start"
    fi
    say "$name ready in $((SECONDS - t0))s ($(tr '\n' ' ' <"$dir/env"))"
  done
  write_env
}

stop_one() { # name
  local dir
  dir=$(service_dir "$1")
  [ -n "$dir" ] || return 0
  if [ -d "$dir" ]; then
    "stop_$1" "$dir"
    rm -rf "$dir"
  fi
  rm -f "$(record "$1")"
}

cmd_stop() {
  local name names=("$@")
  [ $# -gt 0 ] || read -ra names <<<"$SERVICES"
  for name in "${names[@]}"; do known "$name" || die "unknown service '$name' (known: $SERVICES)"; done
  [ -d "$SERVICES_DIR" ] || return 0
  for name in "${names[@]}"; do stop_one "$name"; done
  write_env
  # Nothing left: leave no trace.
  if ! ls "$SERVICES_DIR"/*.dir >/dev/null 2>&1; then
    rm -f "$ENV_FILE"
    rmdir "$SERVICES_DIR" 2>/dev/null || true
  fi
}

cmd_env() {
  [ -f "$ENV_FILE" ] && cat "$ENV_FILE"
  return 0
}

cmd_status() {
  local name
  for name in $SERVICES; do
    if running "$name"; then echo "$name: running ($(service_dir "$name"))"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  start) shift && cmd_start "$@" ;;
  stop) shift && cmd_stop "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) die "usage: services.sh start NAME… | stop [NAME…] | env | status   (services: $SERVICES)" ;;
esac
