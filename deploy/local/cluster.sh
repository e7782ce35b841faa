#!/usr/bin/env bash
# A local multi-silo SslOrleans cluster with Redis clustering, one process per silo.
#
#   deploy/local/cluster.sh up N     start Redis (unless one answers on the port) and N silos; the last stdout line is
#                                    the connection for  sslo pretrain --cluster CONN
#   deploy/local/cluster.sh status   the recorded processes and whether they run (exit 1 when no cluster runs)
#   deploy/local/cluster.sh down     stop exactly the recorded processes (TERM, KILL after 15 s), then remove the state
#   deploy/local/cluster.sh publish  publish the silo to artifacts/silo if a source is newer (up does this too)
#
# Environment: SSLO_CLUSTER_DIR (state: pids, logs; default runs/cluster in the repository),
#              SSLO_REDIS_PORT (default 6379), SSLO_SILO_READY_SECONDS (default 90).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${SSLO_CLUSTER_DIR:-$repo/runs/cluster}
case "$state" in /*) ;; *) state="$PWD/$state" ;; esac
redis_port=${SSLO_REDIS_PORT:-6379}
ready_seconds=${SSLO_SILO_READY_SECONDS:-90}
silo_dll="$repo/artifacts/silo/SslOrleans.Silo.dll"
ready_marker="sslo silo ready:"

say() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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

port_in_use() { { exec 4<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null && { exec 4<&- 4>&-; return 0; }; return 1; }

# A port nothing listens on and that this script has not handed out yet.
taken_ports=" "
free_port() {
  local p tries=0
  while (( tries++ < 200 )); do
    p=$(( 20000 + RANDOM % 30000 ))
    [[ "$taken_ports" == *" $p "* ]] && continue
    port_in_use "$p" && continue
    taken_ports+="$p "
    echo "$p"
    return 0
  done
  die "no free port found"
}

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
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' -o -name '*.props' -o -name '*.targets' \) \
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
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$what"
}

recorded_pids() {
  local f
  for f in "$state"/silo-*.pid; do [ -f "$f" ] && echo "$(cat "$f") SslOrleans.Silo.dll"; done
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
  local kind=$1 pid what alive=() still entry i
  while read -r pid what; do
    [ "$what" = "$kind" ] || continue
    if ours "$pid" "$what"; then kill -TERM "$pid" 2>/dev/null || true; alive+=("$pid"); fi
  done < <(recorded_pids)
  for (( i = 0; i < 150 && ${#alive[@]} > 0; i++ )); do
    still=()
    for pid in "${alive[@]}"; do kill -0 "$pid" 2>/dev/null && still+=("$pid"); done
    alive=("${still[@]+"${still[@]}"}")
    [ ${#alive[@]} -gt 0 ] && sleep 0.1
  done
  for pid in "${alive[@]+"${alive[@]}"}"; do
    say "pid $pid ($kind) did not stop within 15 s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for (( i = 0; i < 50; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
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

cmd_status() {
  if [ ! -f "$state/cluster.env" ]; then echo "no cluster recorded in $state"; return 1; fi
  # shellcheck disable=SC1091
  source "$state/cluster.env"
  echo "cluster $CLUSTER_ID (service $SERVICE_ID), connection $CONNECTION"
  local pid what up=0
  while read -r pid what; do
    if ours "$pid" "$what"; then echo "  $what pid $pid: running"; up=1; else echo "  $what pid $pid: not running"; fi
  done < <(recorded_pids)
  [ "$REDIS_STARTED" = 1 ] || echo "  redis on port $REDIS_PORT: not ours (left running by down)"
  [ $up -eq 1 ]
}

cmd_up() {
  local n=${1:-}
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "up needs the number of silos, e.g. up 2"
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

  local cluster_id service_id threads connection
  cluster_id="sslo-$(date +%s)-$RANDOM"
  service_id=sslo
  threads=$(( $(nproc) / n )); (( threads >= 1 )) || threads=1
  if [ $redis_started = 1 ]; then connection="redis://127.0.0.1:$redis_port"
  else connection="redis://127.0.0.1:$redis_port?cluster=$cluster_id&service=$service_id"; fi   # a shared Redis may hold other clusters
  {
    echo "CLUSTER_ID=$cluster_id"; echo "SERVICE_ID=$service_id"; echo "REDIS_PORT=$redis_port"
    echo "REDIS_STARTED=$redis_started"; echo "CONNECTION='$connection'"; echo "SILOS=$n"
  } > "$state/cluster.env"

  local k silo_port gateway_port
  for (( k = 1; k <= n; k++ )); do
    silo_port=$(free_port); gateway_port=$(free_port)
    (
      cd "$repo"
      export Silo__ClusterId="$cluster_id" Silo__ServiceId="$service_id" Silo__Clustering=Redis \
        Silo__ConnectionString="127.0.0.1:$redis_port" Silo__AdvertisedIP=127.0.0.1 \
        Silo__SiloPort="$silo_port" Silo__GatewayPort="$gateway_port" SslTraining__Devices="cpu@$threads" \
        Logging__LogLevel__SslOrleans=Information
      exec nohup dotnet "$silo_dll" </dev/null >"$state/silo-$k.log" 2>&1
    ) &
    echo $! > "$state/silo-$k.pid"
    say "silo $k: pid $(cat "$state/silo-$k.pid"), silo port $silo_port, gateway port $gateway_port, devices cpu@$threads"
  done

  local deadline=$(( SECONDS + ready_seconds )) pending
  while :; do
    pending=0
    for (( k = 1; k <= n; k++ )); do
      if ! kill -0 "$(cat "$state/silo-$k.pid")" 2>/dev/null; then
        say "silo $k (pid $(cat "$state/silo-$k.pid")) exited before it was ready; the end of $state/silo-$k.log:"
        tail -n 30 "$state/silo-$k.log" >&2 || true
        false
      fi
      grep -q "$ready_marker" "$state/silo-$k.log" 2>/dev/null || pending=$(( pending + 1 ))
    done
    [ $pending -eq 0 ] && break
    if (( SECONDS >= deadline )); then
      for (( k = 1; k <= n; k++ )); do
        grep -q "$ready_marker" "$state/silo-$k.log" 2>/dev/null && continue
        say "silo $k is not ready after $ready_seconds s; the end of $state/silo-$k.log:"
        tail -n 30 "$state/silo-$k.log" >&2 || true
      done
      false
    fi
    sleep 0.5
  done
  trap - EXIT INT TERM
  say "cluster $cluster_id: $n silo(s) ready; state in $state; stop with deploy/local/cluster.sh down"
  echo "$connection"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  publish) publish_silo ;;
  *) usage ;;
esac
