#!/usr/bin/env bash
# A local multi-silo SslOrleans cluster with Redis clustering, one process per silo.
#
#   deploy/local/cluster.sh up N [--tls]
#                                    start Redis (unless one answers on the port) and N silos; the last stdout line is
#                                    the connection for  sslo pretrain --cluster CONN. With --tls: a development CA
#                                    (openssl) in STATE/tls issues one certificate per silo and one for clients; silos
#                                    speak mutual TLS (Orleans and the tensor data plane) and the connection names the
#                                    client's files: ?tls-cert=…&tls-key=…&tls-ca=…
#   deploy/local/cluster.sh status   the recorded processes, silos by number ("silo 3 pid 1234: running"), and whether
#                                    they run (exit 1 when no silo runs); under each running silo its metrics URL
#                                    ("    metrics http://127.0.0.1:PORT/metrics") and its run page ("    page http://…/")
#   deploy/local/cluster.sh add      start one more silo (devices cpu@1) into the recorded cluster, wait until it is
#                                    ready; the last stdout line is its number (numbers are never reused)
#   deploy/local/cluster.sh kill K   SIGKILL silo K (a crash: it leaves the membership without a goodbye)
#   deploy/local/cluster.sh stop K   stop silo K gracefully (TERM, KILL after 15 s)
#   deploy/local/cluster.sh down     stop exactly the recorded processes, added silos included (TERM, KILL after
#                                    15 s), then remove the state
#   deploy/local/cluster.sh publish  publish the silo to artifacts/silo if a source is newer (up does this too)
#
# Environment: SSLO_CLUSTER_DIR (state: pids, logs; default runs/cluster in the repository),
#              SSLO_REDIS_PORT (default 6379), SSLO_SILO_READY_SECONDS (default 90), SSLO_STOP_SECONDS (how long stop
#              and down wait after TERM before KILL; default 15).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${SSLO_CLUSTER_DIR:-$repo/runs/cluster}
case "$state" in /*) ;; *) state="$PWD/$state" ;; esac
redis_port=${SSLO_REDIS_PORT:-6379}
ready_seconds=${SSLO_SILO_READY_SECONDS:-90}
stop_seconds=${SSLO_STOP_SECONDS:-15}
silo_dll="$repo/artifacts/silo/SslOrleans.Silo.dll"
ready_marker="sslo silo ready:"

say() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

usage() {
  sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# True when a Redis server answers PING on 127.0.0.1:$1 (bash's /dev/tcp: no redis-cli needed).
redis_answers() {
  local port=$1 reply=""
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  exec 3<&- 3>&-
  [[ "$reply" == +PONG* ]]
}

# shellcheck source=deploy/local/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

install_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "redis-server is missing and there is no apt-get here: install Redis, or start one on port $redis_port"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing redis-server (Debian package)"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
}

# Publishes the silo when its dll is missing or older than any source it is built from.
publish_silo() {
  local newer=""
  if [ -f "$silo_dll" ]; then
    newer=$(cd "$repo" && find src silo build Directory.Build.props Directory.Build.targets Directory.Packages.props global.json \
      \( -name bin -o -name obj \) -prune -o -type f \
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' -o -name '*.props' -o -name '*.targets' -o -name '*.html' \) \
      -newer "$silo_dll" -print -quit 2>/dev/null || true)
    [ -z "$newer" ] && return 0
    say "publishing the silo ($newer is newer than $silo_dll)"
  else
    say "publishing the silo to artifacts/silo"
  fi
  (cd "$repo" && dotnet publish silo/SslOrleans.Silo -c Release -o artifacts/silo --nologo -v q >&2) || die "dotnet publish silo/SslOrleans.Silo failed"
  touch "$silo_dll"
}

# pid alive and still the program we started (not a recycled pid)?
ours() {
  local pid=$1 what=$2
  alive "$pid" || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$what"
}

# The recorded silos' numbers, ascending (silo-10 after silo-9).
silo_numbers() {
  local f k
  for f in "$state"/silo-*.pid; do
    [ -f "$f" ] || continue
    k=${f##*/silo-}; k=${k%.pid}
    [[ "$k" =~ ^[1-9][0-9]*$ ]] && echo "$k"
  done | sort -n
}

silo_pid() { cat "$state/silo-$1.pid" 2>/dev/null || true; }

recorded_pids() {
  local k
  for k in $(silo_numbers); do echo "$(silo_pid "$k") SslOrleans.Silo.dll"; done
  [ -f "$state/redis.pid" ] && echo "$(cat "$state/redis.pid") redis-server"
  return 0
}

running() {
  local pid what
  while read -r pid what; do ours "$pid" "$what" && return 0; done < <(recorded_pids)
  return 1
}

# TERM to each recorded process of one kind that is still ours, KILL to those still there after 15 s.
stop_kind() {
  local kind=$1 pid what alive=()
  while read -r pid what; do
    [ "$what" = "$kind" ] || continue
    ours "$pid" "$what" && alive+=("$pid")
  done < <(recorded_pids)
  stop_pids "$kind" "${alive[@]+"${alive[@]}"}"
}

# stop_pids KIND PID...: TERM to each, KILL to those still there after SSLO_STOP_SECONDS (15); waits until they are gone.
stop_pids() {
  local kind=$1 pid still i
  shift
  local alive=("$@")
  for pid in "${alive[@]+"${alive[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for (( i = 0; i < stop_seconds * 10 && ${#alive[@]} > 0; i++ )); do
    still=()
    for pid in "${alive[@]}"; do alive "$pid" && still+=("$pid"); done
    alive=("${still[@]+"${still[@]}"}")
    [ ${#alive[@]} -gt 0 ] && sleep 0.1
  done
  for pid in "${alive[@]+"${alive[@]}"}"; do
    say "pid $pid ($kind) did not stop within $stop_seconds s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for (( i = 0; i < 50; i++ )); do alive "$pid" || break; sleep 0.1; done
  done
  return 0
}

# Silos first (they leave the membership table in Redis as they stop), then the Redis this script started.
stop_recorded() {
  stop_kind SslOrleans.Silo.dll
  stop_kind redis-server
}

cmd_down() {
  if [ ! -d "$state" ]; then say "nothing to stop ($state does not exist)"; return 0; fi
  stop_recorded
  rm -rf "$state"
  say "stopped; removed $state"
}

# The recorded cluster's settings (CLUSTER_ID, SERVICE_ID, REDIS_PORT, REDIS_STARTED, CONNECTION, SILOS) or an error.
load_cluster() {
  [ -f "$state/cluster.env" ] || die "no cluster recorded in $state: start one with deploy/local/cluster.sh up N (or set SSLO_CLUSTER_DIR)"
  # shellcheck disable=SC1091
  source "$state/cluster.env"
}

cmd_status() {
  if [ ! -f "$state/cluster.env" ]; then echo "no cluster recorded in $state"; return 1; fi
  load_cluster
  echo "cluster $CLUSTER_ID (service $SERVICE_ID), connection $CONNECTION"
  local k pid http up=0
  for k in $(silo_numbers); do
    pid=$(silo_pid "$k")
    if ours "$pid" SslOrleans.Silo.dll; then
      echo "  silo $k pid $pid: running"; up=1
      http=$(cat "$state/silo-$k.http" 2>/dev/null || true)
      if [ -n "$http" ]; then echo "    metrics http://127.0.0.1:$http/metrics"; echo "    page http://127.0.0.1:$http/"; fi
    else echo "  silo $k pid ${pid:-?}: not running"; fi
  done
  if [ "$REDIS_STARTED" = 1 ]; then
    pid=$(cat "$state/redis.pid" 2>/dev/null || true)
    if ours "$pid" redis-server; then echo "  redis-server pid $pid (port $REDIS_PORT): running"
    else echo "  redis-server pid ${pid:-?} (port $REDIS_PORT): not running"; fi
  else
    echo "  redis on port $REDIS_PORT: not ours (left running by down)"
  fi
  [ $up -eq 1 ]
}

install_openssl() {
  command -v openssl >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "openssl is missing and there is no apt-get here: install OpenSSL for --tls"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing openssl (Debian package)"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openssl >/dev/null
}

# make_ca: a development certificate authority for this cluster only (P-256, 30 days) in $state/tls; its key stays
# there so that add can issue certificates for new silos. Not for production: docs/security.md.
make_ca() {
  install_openssl
  mkdir -p "$state/tls"
  chmod 700 "$state/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout "$state/tls/ca.key" -out "$state/tls/ca.crt" -subj "/CN=sslo development CA $CLUSTER_ID" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null \
    || die "openssl could not make the development CA in $state/tls"
}

# issue NAME: a certificate NAME.crt (key NAME.key, mode 600) signed by the development CA, good as TLS server and
# client (silos are both), for 127.0.0.1 and localhost.
issue() {
  local name=$1 dir="$state/tls"
  ( umask 077
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" \
      -subj "/CN=sslo $name" 2>/dev/null &&
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 30 -out "$dir/$name.crt" \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n') 2>/dev/null
  ) || die "openssl could not issue the certificate $name in $dir"
  rm -f "$dir/$name.csr"
}

# start_silo K THREADS: starts silo K of the recorded cluster in the background with devices cpu@THREADS, free
# ports and its log in silo-K.log, and records its pid in silo-K.pid and its HTTP port (run page, /metrics) in silo-K.http.
start_silo() {
  local k=$1 threads=$2 silo_port gateway_port http_port
  silo_port=$(free_port); gateway_port=$(free_port); http_port=$(free_port)
  echo "$http_port" > "$state/silo-$k.http"
  (
    cd "$repo"
    export Silo__ClusterId="$CLUSTER_ID" Silo__ServiceId="$SERVICE_ID" Silo__Clustering=Redis \
      Silo__ConnectionString="127.0.0.1:$REDIS_PORT" Silo__AdvertisedIP=127.0.0.1 \
      Silo__SiloPort="$silo_port" Silo__GatewayPort="$gateway_port" Silo__HttpPort="$http_port" SslTraining__Devices="cpu@$threads" \
      Logging__LogLevel__SslOrleans=Information
    if [ "${TLS:-0}" = 1 ]; then
      export Tls__Certificate="$state/tls/silo-$k.crt" Tls__Key="$state/tls/silo-$k.key" Tls__Authority="$state/tls/ca.crt"
    fi
    exec nohup dotnet "$silo_dll" </dev/null >"$state/silo-$k.log" 2>&1
  ) &
  echo $! > "$state/silo-$k.pid"
  say "silo $k: pid $(silo_pid "$k"), silo port $silo_port, gateway port $gateway_port, http port $http_port, devices cpu@$threads"
}

# wait_ready K...: until every one of these silos logged the ready marker; false (with the end of the logs) when
# one exits or SSLO_SILO_READY_SECONDS pass.
wait_ready() {
  local deadline=$(( SECONDS + ready_seconds )) pending k
  while :; do
    pending=0
    for k in "$@"; do
      if ! alive "$(silo_pid "$k")"; then
        say "silo $k (pid $(silo_pid "$k")) exited before it was ready; the end of $state/silo-$k.log:"
        tail -n 30 "$state/silo-$k.log" >&2 || true
        return 1
      fi
      grep -q "$ready_marker" "$state/silo-$k.log" 2>/dev/null || pending=$(( pending + 1 ))
    done
    [ $pending -eq 0 ] && return 0
    if (( SECONDS >= deadline )); then
      for k in "$@"; do
        grep -q "$ready_marker" "$state/silo-$k.log" 2>/dev/null && continue
        say "silo $k is not ready after $ready_seconds s; the end of $state/silo-$k.log:"
        tail -n 30 "$state/silo-$k.log" >&2 || true
      done
      return 1
    fi
    sleep 0.5
  done
}

cmd_up() {
  local n=${1:-} tls=0
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "up needs the number of silos, e.g. up 2"
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --tls) tls=1 ;;
      *) die "up: unknown option '$1' (up N [--tls])" ;;
    esac
    shift
  done
  [[ "$redis_port" =~ ^[1-9][0-9]*$ ]] || die "SSLO_REDIS_PORT '$redis_port' is not a port"
  if running; then
    die "a cluster from $state is running ($(grep -h '^CLUSTER_ID=' "$state/cluster.env" 2>/dev/null || echo 'see status')): run deploy/local/cluster.sh down first, or set SSLO_CLUSTER_DIR"
  fi
  rm -rf "$state"
  mkdir -p "$state"
  # Whatever ends up early (an error, die, Ctrl+C) stops what this call started.
  trap 'echo "cluster: up failed; stopping what it started" >&2; stop_recorded; rm -rf "$state"' EXIT
  trap 'exit 130' INT TERM

  local redis_started=0
  if redis_answers "$redis_port"; then
    say "using the Redis that answers on 127.0.0.1:$redis_port (it stays running after down)"
  else
    port_in_use "$redis_port" && die "port $redis_port is taken by something that is not Redis: set SSLO_REDIS_PORT"
    install_redis
    nohup redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
      --dir "$state" --logfile "$state/redis.log" </dev/null >/dev/null 2>&1 &
    echo $! > "$state/redis.pid"
    redis_started=1
    local i
    for (( i = 0; i < 100; i++ )); do redis_answers "$redis_port" && break; sleep 0.1; done
    redis_answers "$redis_port" || { tail -n 20 "$state/redis.log" >&2 || true; false; }
    say "redis-server on 127.0.0.1:$redis_port (pid $(cat "$state/redis.pid"))"
  fi

  publish_silo

  local threads connection
  CLUSTER_ID="sslo-$(date +%s)-$RANDOM"
  SERVICE_ID=sslo
  REDIS_PORT=$redis_port
  threads=$(( $(nproc) / n )); (( threads >= 1 )) || threads=1
  if [ $redis_started = 1 ]; then connection="redis://127.0.0.1:$redis_port"
  else connection="redis://127.0.0.1:$redis_port?cluster=$CLUSTER_ID&service=$SERVICE_ID"; fi   # a shared Redis may hold other clusters
  TLS=$tls
  local k
  if [ "$tls" = 1 ]; then
    make_ca
    issue client
    for (( k = 1; k <= n; k++ )); do issue "silo-$k"; done
    # The client's files by reference: sslo … --cluster takes the line as it is.
    [[ "$connection" == *\?* ]] && connection="$connection&" || connection="$connection?"
    connection="${connection}tls-cert=$state/tls/client.crt&tls-key=$state/tls/client.key&tls-ca=$state/tls/ca.crt"
    say "TLS: development CA $state/tls/ca.crt; silo and client certificates beside it"
  fi
  {
    echo "CLUSTER_ID=$CLUSTER_ID"; echo "SERVICE_ID=$SERVICE_ID"; echo "REDIS_PORT=$redis_port"
    echo "REDIS_STARTED=$redis_started"; echo "CONNECTION='$connection'"; echo "SILOS=$n"; echo "TLS=$tls"
  } > "$state/cluster.env"

  for (( k = 1; k <= n; k++ )); do start_silo "$k" "$threads"; done
  wait_ready $(seq 1 "$n") || false
  trap - EXIT INT TERM
  say "cluster $CLUSTER_ID: $n silo(s) ready; state in $state; stop with deploy/local/cluster.sh down"
  echo "$connection"
}

# One more silo, cpu@1, numbered after every silo ever recorded (claimed atomically: concurrent adds get distinct numbers).
cmd_add() {
  [ $# -eq 0 ] || die "add takes no arguments (it starts one silo with devices cpu@1)"
  load_cluster
  redis_answers "$REDIS_PORT" || die "no Redis answers on 127.0.0.1:$REDIS_PORT: the recorded cluster $CLUSTER_ID is gone (deploy/local/cluster.sh down, then up N)"
  [ -f "$silo_dll" ] || die "$silo_dll is missing: run deploy/local/cluster.sh publish"
  local k last
  last=$(silo_numbers | tail -n 1)
  k=$(( ${last:-0} + 1 ))
  until ( set -o noclobber; : > "$state/silo-$k.pid" ) 2>/dev/null; do k=$(( k + 1 )); done
  # An add that fails or is interrupted stops its silo; the number stays taken (status shows it not running).
  trap 'echo "cluster: add failed; stopping silo '"$k"'" >&2; p=$(silo_pid '"$k"'); alive "$p" && stop_pids SslOrleans.Silo.dll "$p"' EXIT
  trap 'exit 130' INT TERM
  [ "${TLS:-0}" = 1 ] && issue "silo-$k"
  start_silo "$k" 1
  wait_ready "$k" || false
  trap - EXIT INT TERM
  say "silo $k (pid $(silo_pid "$k")) joined cluster $CLUSTER_ID"
  echo "$k"
}

# The pid of running silo K, or an error naming what is wrong with K.
running_silo_pid() {
  local verb=$1 k=${2:-} pid numbers
  [[ "$k" =~ ^[1-9][0-9]*$ ]] || die "$verb needs a silo number as status lists them, e.g. $verb 2"
  load_cluster
  numbers=$(silo_numbers | tr '\n' ' ')
  [ -f "$state/silo-$k.pid" ] || die "$verb $k: there is no silo $k in $state (silos: ${numbers% })"
  pid=$(silo_pid "$k")
  ours "$pid" SslOrleans.Silo.dll || die "$verb $k: silo $k (pid ${pid:-?}) is not running"
  echo "$pid"
}

cmd_kill() {
  [ $# -le 1 ] || die "kill takes one silo number"
  local pid i
  pid=$(running_silo_pid kill "${1:-}")
  kill -KILL "$pid" 2>/dev/null || true
  for (( i = 0; i < 100; i++ )); do alive "$pid" || break; sleep 0.05; done
  alive "$pid" && die "silo $1 (pid $pid) still runs 5 s after SIGKILL"
  say "silo $1 (pid $pid): killed"
}

cmd_stop() {
  [ $# -le 1 ] || die "stop takes one silo number"
  local pid
  pid=$(running_silo_pid stop "${1:-}")
  stop_pids SslOrleans.Silo.dll "$pid"
  say "silo $1 (pid $pid): stopped"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  add) shift; cmd_add "$@" ;;
  kill) shift; cmd_kill "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  publish) publish_silo ;;
  *) usage ;;
esac
