#!/usr/bin/env bash
# Chaos on real processes: a BYOL run on a local 4-silo cluster (deploy/local/cluster.sh) with checkpoints in blob
# storage (Azurite), once undisturbed and once while silos are SIGKILLed at random steps, each kill followed by a
# replacement silo (cluster.sh add). The last stdout line is one JSON object:
#
#   {"kills":…,"steps_redone":…,"microbatches_redone":…,"samples_lost":…,"samples_doubled":…,
#    "param_l2":…,"param_l2_undisturbed":…,"identical":…, "kills_planned":…,"kill_steps":[…],
#    "kill_roles":[…],"kill_hosted":[[…],…],"recovery_seconds":[…],"steps":…,"kill_seed":…,"failure":…}
#
# The kills are aimed: kill 1 at the silo of the run's coordinator (its RunGrain), kill 2 at a silo hosting a
# parameter shard, kill 3 at a silo hosting a worker, then again coordinator, shard, worker, … A shard's or a
# worker's silo is one that does not host the coordinator where there is such a silo (a random one of them). Just
# before each kill, `sslo status RUN --cluster CONN` gives the run's roles ("coordinator S127.0.0.1:PORT:GEN",
# "worker 3 S…", "shard 1 S…") and each silo's "sslo silo ready: … silo S…" log line maps an address to a silo
# number. When the status fails or no running silo hosts the role, the kill falls back to a random running silo.
# kill_roles has the role each kill hit ("coordinator", "shard 1", "worker 3", or "random" for a fallback);
# kill_hosted, everything of the run its victim hosted; recovery_seconds, from each SIGKILL until the run had finished
# one more step (the replacement silo starts beside the run meanwhile; the next kill waits for it).
#
# steps_redone, microbatches_redone, samples_lost and samples_doubled come from the disturbed run's own JSON line
# (null where it has no such field); identical: both runs printed the same param_l2, to the last digit. The exit
# status is 0 only when both runs completed, every planned kill happened, identical is true and samples_lost and
# samples_doubled are 0 (a field the pretrain does not print yet is reported null and not checked, with a warning).
# Progress lines ("chaos: kill 2/10 at a shard: silo 3 (pid …, shard 0, worker 1) at step 57") go to stderr. Whatever it started (the pretrain,
# the cluster, Azurite, its temporary folder) is stopped and removed on any exit, Ctrl+C included.
#
# The undisturbed run goes first, on the fresh cluster: it is the reference and checks the setup (when it fails,
# the error is about the setup, not about chaos), and the disturbed run then uses the same four silos; run second,
# the reference would train on survivors and replacements, with dead silos in the membership table.
#
# Environment (make chaos passes KILLS, STEPS, SEED, KILL_SEED):
#   KILLS                   silos to kill during the disturbed run (default 10; 0: two undisturbed runs)
#   CHAOS_STEPS             steps of each run (default 300)
#   CHAOS_SEED              the runs' training seed (default 0)
#   CHAOS_KILL_SEED         seed of the kill schedule and of the silos picked among a role's (default: random, printed)
#   CHAOS_GAP               fewest steps between two kills (default 5)
#   CHAOS_SILOS             silos of the cluster (default 4)
#   CHAOS_TIMEOUT           wall-clock limit of each pretrain in seconds (default 120 + STEPS + 120 × KILLS)
#   CHAOS_STALL_SECONDS     a pretrain that finishes no step for this long is stopped as stuck (default 120)
#   CHAOS_PRETRAIN_ARGS     more flags for both pretrains, e.g. "--checkpoint-every 50"
#   CHAOS_STATUS_TIMEOUT    seconds one sslo status before a kill may take; past it the kill picks at random (default 60)
#   CHAOS_STORAGE           an Azure Storage connection string to use instead of starting Azurite
#   CHAOS_KEEP=1            keep the temporary folder: the pretrains' output, azurite.log, the silos' logs in cluster/,
#                           each kill's sslo status output in status-N.*
# Uses artifacts/bin/sslo and artifacts/silo (make build), publishing either first when it is missing or a source is
# newer; needs .tools/azurite (build/deps.sh --test) unless CHAOS_STORAGE is set, and jq or python3.
#
#   deploy/local/chaos.sh publish   only that publishing (build/test.sh runs it before the tests build)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cluster="$repo/deploy/local/cluster.sh"
sslo="$repo/artifacts/bin/sslo"
azurite_bin="$repo/.tools/azurite/node_modules/.bin/azurite-blob"

say() { echo "chaos: $*" >&2; }
die() { echo "chaos: $*" >&2; exit 2; }

# Publishes the CLI to artifacts/bin when sslo is missing or older than a source it is built from, and the silo
# (cluster.sh publish, the same rule).
publish() {
  local newer=""
  if [ -x "$sslo" ]; then
    newer=$(cd "$repo" && find src client build Directory.Build.props Directory.Build.targets Directory.Packages.props global.json \
      \( -name bin -o -name obj \) -prune -o -type f \
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' -o -name '*.props' -o -name '*.targets' \) \
      -newer "$sslo" -print -quit 2>/dev/null || true)
    [ -n "$newer" ] && say "publishing the CLI ($newer is newer than $sslo)"
  else
    say "publishing the CLI to artifacts/bin"
  fi
  if [ ! -x "$sslo" ] || [ -n "$newer" ]; then
    (cd "$repo" && dotnet publish client/SslOrleans.Cli -c Release -o artifacts/bin --nologo -v q >&2) || die "dotnet publish client/SslOrleans.Cli failed"
    touch "$sslo"
  fi
  "$cluster" publish || die "deploy/local/cluster.sh publish failed"
}

case "${1:-}" in
  "") ;;
  publish) publish; exit 0 ;;
  *) die "usage: deploy/local/chaos.sh [publish] (settings in the environment: see the top of this script)" ;;
esac

kills_planned=${KILLS:-10}
steps=${CHAOS_STEPS:-300}
seed=${CHAOS_SEED:-0}
gap=${CHAOS_GAP:-5}
silos=${CHAOS_SILOS:-4}
stall=${CHAOS_STALL_SECONDS:-120}
kill_seed=${CHAOS_KILL_SEED:-}
status_timeout=${CHAOS_STATUS_TIMEOUT:-60}
[ -n "$kill_seed" ] || kill_seed=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 32768 ))
whole() { [[ "$2" =~ ^[0-9]+$ ]] || die "$1='$2' is not a whole number"; }
whole KILLS "$kills_planned"; whole CHAOS_STEPS "$steps"; whole CHAOS_GAP "$gap"; whole CHAOS_SILOS "$silos"
whole CHAOS_STALL_SECONDS "$stall"; whole CHAOS_KILL_SEED "$kill_seed"; whole CHAOS_SEED "$seed"; whole CHAOS_STATUS_TIMEOUT "$status_timeout"
(( steps >= 1 && silos >= 2 && gap >= 1 && stall >= 1 && status_timeout >= 1 )) || die "CHAOS_STEPS, CHAOS_GAP, CHAOS_STALL_SECONDS and CHAOS_STATUS_TIMEOUT must be at least 1, CHAOS_SILOS at least 2"
timeout_s=${CHAOS_TIMEOUT:-$(( 120 + steps + 120 * kills_planned ))}
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die "CHAOS_TIMEOUT='$timeout_s' is not a number of seconds"
read -r -a extra_args <<< "${CHAOS_PRETRAIN_ARGS:-}"

publish
[ -n "${CHAOS_STORAGE:-}" ] || [ -x "$azurite_bin" ] || die "$azurite_bin is missing: run build/deps.sh --test, or set CHAOS_STORAGE"
# python3 keeps param_l2 as the CLI printed it; jq 1.6 reprints numbers (CHAOS_JSON=jq|python picks one).
json=${CHAOS_JSON:-}
if [ -z "$json" ]; then
  if command -v python3 >/dev/null 2>&1; then json=python; elif command -v jq >/dev/null 2>&1; then json=jq
  else die "neither python3 nor jq is installed: the harness needs one of them to read the pretrain's JSON"; fi
fi
[[ "$json" == jq || "$json" == python ]] || die "CHAOS_JSON='$json': jq or python"

# The kill schedule: kill i in the i-th of KILLS equal parts of steps [10 %, 90 %), at least CHAOS_GAP apart.
RANDOM=$kill_seed
targets=()
if (( kills_planned > 0 )); then
  lo=$(( steps / 10 > 1 ? steps / 10 : 1 )); hi=$(( steps * 9 / 10 ))
  part=$(( (hi - lo) / kills_planned ))
  (( part >= gap )) || die "CHAOS_STEPS=$steps leaves too few steps for $kills_planned kills at least $gap steps apart: raise CHAOS_STEPS (at least $(( (gap * kills_planned + 1) * 10 / 8 )))"
  for (( i = 0; i < kills_planned; i++ )); do
    targets+=( $(( lo + i * part + RANDOM % (part - gap + 1) )) )
  done
fi

# --- what this script starts, stopped on every exit ------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/sslo-chaos.XXXXXX")
azurite_pid=""; pretrain_pid=""; cluster_started=0


# stop_pid PID GRACE: TERM, KILL after GRACE seconds.
stop_pid() {
  local pid=$1 grace=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for (( i = 0; i < grace * 10; i++ )); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for (( i = 0; i < 50; i++ )); do alive "$pid" || return 0; sleep 0.1; done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "$pretrain_pid" ] && stop_pid "$(cat "$work/pretrain.pid" 2>/dev/null || true)" 10
  [ -n "$pretrain_pid" ] && stop_pid "$pretrain_pid" 5
  # cluster.sh down removes its state folder: with CHAOS_KEEP=1 its logs and settings are copied out first and put
  # back in the same place ($work/cluster) after.
  if [ "$cluster_started" = 1 ] && [ "${CHAOS_KEEP:-0}" = 1 ] && [ -d "$SSLO_CLUSTER_DIR" ]; then
    mkdir -p "$work/cluster-kept"
    cp -p "$SSLO_CLUSTER_DIR"/*.log "$SSLO_CLUSTER_DIR"/cluster.env "$work/cluster-kept/" 2>/dev/null || true
  fi
  [ "$cluster_started" = 1 ] && { "$cluster" down >/dev/null 2>&1 || say "cluster.sh down failed (state in $SSLO_CLUSTER_DIR)"; }
  if [ -d "$work/cluster-kept" ]; then
    if [ -e "$SSLO_CLUSTER_DIR" ]; then say "the cluster's logs are also in $work/cluster-kept"
    else mv "$work/cluster-kept" "$SSLO_CLUSTER_DIR"; fi
  fi
  [ -n "$azurite_pid" ] && stop_pid "$azurite_pid" 20
  if [ "${CHAOS_KEEP:-0}" = 1 ]; then say "kept $work (CHAOS_KEEP=1)"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# shellcheck source=deploy/local/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

# --- blob storage and the cluster --------------------------------------------------------------------------------
if [ -n "${CHAOS_STORAGE:-}" ]; then
  export SSLO_STORAGE="$CHAOS_STORAGE"
  say "blob storage from CHAOS_STORAGE"
else
  port=$(free_port)
  "$azurite_bin" --blobHost 127.0.0.1 --blobPort "$port" --location "$work/azurite" \
    --skipApiVersionCheck --disableTelemetry --silent </dev/null >"$work/azurite.log" 2>&1 &
  azurite_pid=$!
  for (( i = 0; i < 300; i++ )); do port_in_use "$port" && break; alive "$azurite_pid" || break; sleep 0.1; done
  port_in_use "$port" || { tail -n 20 "$work/azurite.log" >&2 || true; say "Azurite did not start on port $port"; exit 2; }
  export SSLO_STORAGE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
  say "Azurite blob service on 127.0.0.1:$port (pid $azurite_pid), data in $work/azurite"
fi
export SSLO_CLUSTER_DIR="$work/cluster" SSLO_REDIS_PORT XDG_CACHE_HOME="$work/cache"
SSLO_REDIS_PORT=$(free_port)
cluster_started=1
connection=$("$cluster" up "$silos" | tail -n 1) || { say "cluster.sh up $silos failed"; exit 2; }
say "cluster of $silos silos at $connection (state in $SSLO_CLUSTER_DIR); kill seed $kill_seed (CHAOS_KILL_SEED=$kill_seed repeats the schedule)"

run_id="chaos-$(date +%Y%m%d-%H%M%S)-$$"
container=${CHAOS_CONTAINER:-chaos}

# The pretrain's last finished step, from its progress on stderr (0 before the first).
current_step() {
  local s
  s=$(tr '\r' '\n' < "$1" 2>/dev/null | grep -oE 'step [0-9]+/' | tail -n 1 | tr -dc '0-9')
  echo "${s:-0}"
}

# A pretrain's stderr as lines: progress rewritten with \r split up, an exception that follows it on a line of its own.
err_lines() {
  tr '\r' '\n' < "$1" 2>/dev/null | sed -E 's/(.)(Unhandled exception\.)/\1\n\2/' \
    | grep -vE '^[[:space:]]*$|^Script (started|done) on ' || true
}

# The running silos, as "NUMBER PID" lines, from cluster.sh status.
running_silos() {
  "$cluster" status 2>/dev/null | sed -nE 's/^ +silo ([0-9]+) pid ([0-9]+): running$/\1 \2/p' || true
}

# The running silos with their addresses as Orleans prints them (from each one's "sslo silo ready: … silo S…" log
# line), as "NUMBER PID ADDRESS" lines; ADDRESS is - where the log has no such line.
silo_addresses() {
  local k pid addr
  while read -r k pid; do
    addr=$(grep -m 1 -oE "$ready_marker .* silo S[^ ,]+:[0-9]+:[0-9]+" "$SSLO_CLUSTER_DIR/silo-$k.log" 2>/dev/null \
      | grep -oE 'S[^ ,]+:[0-9]+:[0-9]+$' || true)
    echo "$k $pid ${addr:--}"
  done < <(running_silos)
}

# run_roles RUN N: the run's roles from sslo status, one "ROLE ADDRESS" line each ("shard 1 S127.0.0.1:PORT:GEN");
# false when sslo status fails. Its output is kept in status-N.out and status-N.err.
run_roles() {
  local line
  timeout "$status_timeout" "$sslo" status "$1" --cluster "$connection" </dev/null >"$work/status-$2.out" 2>"$work/status-$2.err" || return 1
  line=$(grep -v '^[[:space:]]*$' "$work/status-$2.out" | tail -n 1) || return 1
  if [ "$json" = jq ]; then jq -r '.roles // [] | .[]' <<< "$line"
  else python3 -c 'import json,sys; [print(r) for r in json.loads(sys.stdin.read()).get("roles") or []]' <<< "$line"; fi
}

# run_state RUN WHY: the run's state and step as the cluster has them ("the cluster has the run completed at step 120"),
# which tells a run that is stuck from a CLI that no longer follows it; output in status-WHY.out and status-WHY.err.
run_state() {
  local line state step
  if ! timeout "$status_timeout" "$sslo" status "$1" --cluster "$connection" </dev/null >"$work/status-$2.out" 2>"$work/status-$2.err"; then
    line=$(grep -v '^[[:space:]]*$' "$work/status-$2.err" 2>/dev/null | tail -n 1 || true)
    echo "sslo status failed${line:+: ${line:0:200}}"
    return 0
  fi
  line=$(grep -v '^[[:space:]]*$' "$work/status-$2.out" | tail -n 1 || true)
  if [ "$json" = jq ]; then line=$(jq -r '"\(.state) \(.step)"' <<< "$line" 2>/dev/null || true)
  else line=$(python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d.get("state"), d.get("step"))' <<< "$line" 2>/dev/null || true); fi
  read -r state step <<< "$line" || true
  echo "the cluster has the run ${state:-?} at step ${step:-?}"
}

role_phrase() { case "$1" in coordinator) echo "the coordinator" ;; *) echo "a $1" ;; esac; }

# aim_kill ROLE RUN N: picks the victim of kill N, aimed at ROLE (coordinator, shard or worker) of run RUN: the
# coordinator's silo; for a shard or a worker a random running silo hosting one, other than the coordinator's
# unless only it hosts one. Falls back to a random running silo. Sets victim (its number; empty when no silo
# runs), vpid, hit (the role hit: "coordinator", "shard 1", "worker 3", or "random"), hosted (what of the run the
# victim hosts, as "shard 0, worker 1") and why (why the kill fell back, or empty).
aim_kill() {
  local want=$1 run=$2 n=$3 k pid addr line role roles coordinator="" i
  local -A number_of=() pid_of=() hosts=() role_on=()
  local live=() candidates=() others=()
  victim=""; vpid=""; hit="random"; hosted=""; why=""
  while read -r k pid addr; do
    live+=("$k"); pid_of[$k]=$pid
    [ "$addr" != - ] && number_of[$addr]=$k
  done < <(silo_addresses)
  (( ${#live[@]} > 0 )) || return 0
  if roles=$(run_roles "$run" "$n"); then
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      addr=${line##* }; role=${line% *}
      k=${number_of[$addr]:-}
      [ -n "$k" ] || continue   # a silo that is gone, or not ours
      hosts[$k]+="${hosts[$k]:+, }$role"
      [ "$role" = coordinator ] && coordinator=$k
      [ "${role%% *}" = "$want" ] && [ -z "${role_on[$k]:-}" ] && role_on[$k]=$role
    done <<< "$roles"
    for k in "${live[@]}"; do
      [ -n "${role_on[$k]:-}" ] || continue
      candidates+=("$k")
      [ "$k" != "$coordinator" ] && others+=("$k")
    done
    (( ${#others[@]} > 0 )) && candidates=("${others[@]}")
    if (( ${#candidates[@]} > 0 )); then
      victim=${candidates[RANDOM % ${#candidates[@]}]}
      hit=${role_on[$victim]}
    else
      why="random: no running silo hosts $(role_phrase "$want")"
    fi
  else
    line=$(grep -v '^[[:space:]]*$' "$work/status-$n.err" 2>/dev/null | tail -n 1 || true)
    why="random: sslo status failed${line:+: ${line:0:200}}"
  fi
  [ -n "$victim" ] || victim=${live[RANDOM % ${#live[@]}]}
  vpid=${pid_of[$victim]}; hosted=${hosts[$victim]:-}
}

# run_pretrain LABEL KILLS: one pretrain of the spec, killing KILLS silos on the schedule. Sets run_rc (the CLI's exit
# status), run_failure (empty, or what went wrong), kills_done, kill_steps, kill_roles and kill_hosted.
run_failure=""; run_rc=0; kills_done=0; kill_steps=(); kill_roles=(); kill_hosted=(); recovery=()
victim=""; vpid=""; hit=""; hosted=""; why=""
aims=(coordinator shard worker)
ready_marker="sslo silo ready:"
run_pretrain() {
  local label=$1 kills=$2 out="$work/$1.out" err="$work/$1.err" cmd step last_step=0 last_change=$SECONDS
  local started=$SECONDS next=0 min_next=0 added said=$SECONDS aim add_pid="" add_retried="" now i
  # Per kill: when it happened and the step then; recovery[i] becomes the seconds until the run finished a step more.
  local -a kill_time=()
  run_failure=""; run_rc=0; kills_done=0; kill_steps=(); kill_roles=(); kill_hosted=(); recovery=()
  local args=(pretrain --method byol --width 8 --batch 64 --micro-batch 16 --steps "$steps" --seed "$seed" --no-eval
    --workers 2 --threads-per-worker 1 "${extra_args[@]+"${extra_args[@]}"}"
    --cluster "$connection" --out "az://$container/$run_id-$label" --run-id "$run_id-$label")
  rm -f "$work/pretrain.pid"
  # On a terminal the CLI shows every step (redirected, one line per 5 s): script(1) gives it a pseudo-terminal for
  # stderr, while its stdout (the JSON line) goes to a file.
  cmd="echo \$\$ > $(printf '%q' "$work/pretrain.pid"); exec $(printf '%q ' "$sslo" "${args[@]}") </dev/null >$(printf '%q' "$out")"
  say "$label run: sslo ${args[*]}"
  if command -v script >/dev/null 2>&1; then
    SHELL=/bin/bash script -q -e -f -c "$cmd" "$err" </dev/null >/dev/null 2>&1 &
  else
    say "script(1) is missing: the step is known only every 5 s"
    bash -c "$cmd" 2>"$err" &
  fi
  pretrain_pid=$!
  while alive "$pretrain_pid"; do
    step=$(current_step "$err")
    if (( step != last_step )); then last_step=$step; last_change=$SECONDS; fi
    now=$(date +%s.%N)
    for (( i = 0; i < kills_done; i++ )); do
      if [ "${recovery[i]}" = null ] && (( step > kill_steps[i] )); then
        recovery[i]=$(awk -v a="$now" -v b="${kill_time[i]}" 'BEGIN { printf "%.1f", a - b }')
      fi
    done
    # The replacement silo starts beside the run (it takes ~10 s): the next kill waits for it.
    if [ -n "$add_pid" ] && ! alive "$add_pid"; then
      if wait "$add_pid" && added=$(tail -n 1 "$work/add-$next.out") && [ -n "$added" ]; then
        say "kill $next/$kills: replacement silo $added ready (the run at step $step)"
        add_pid=""
      elif [ -z "${add_retried:-}" ]; then
        # A replacement is the harness's help, not what is tested: one that failed to start (a port taken meanwhile,
        # a membership table still naming the killed silo) gets one more try.
        say "kill $next/$kills: the replacement silo did not start; trying once more. The end of its output:"
        tail -n 5 "$work/add-$next.err" | sed 's/^/  | /' >&2 || true
        add_retried=1
        "$cluster" add >"$work/add-$next.out" 2>"$work/add-$next.err" </dev/null &
        add_pid=$!
      else
        tail -n 15 "$work/add-$next.err" >&2 || true
        run_failure="the replacement after kill $next/$kills (cluster.sh add) failed twice"
        break
      fi
    fi
    if (( SECONDS - said >= 15 )); then say "$label run: step $step/$steps"; said=$SECONDS; fi
    if (( SECONDS - started > timeout_s )); then
      run_failure="the $label run did not finish within CHAOS_TIMEOUT=$timeout_s s (at step $step/$steps; $(run_state "$run_id-$label" timeout)); stopped it"
      break
    fi
    if (( SECONDS - last_change > stall )); then
      run_failure="the $label run finished no step for $stall s (stuck at step $step/$steps"
      if (( kills_done > 0 )); then run_failure+=", $kills_done kill(s) so far, the last at step ${kill_steps[-1]}"; fi
      run_failure+="; $(run_state "$run_id-$label" stall)); stopped it"
      break
    fi
    if [ -z "$add_pid" ] && (( next < kills && step >= targets[next] && step >= min_next && step < steps )); then
      aim=${aims[next % ${#aims[@]}]}
      aim_kill "$aim" "$run_id-$label" "$(( next + 1 ))"
      if [ -z "$victim" ]; then run_failure="no running silo left to kill (kill $(( next + 1 ))/$kills)"; break; fi
      # Asking for the roles took a moment: no kill once the run has ended meanwhile.
      step=$(current_step "$err")
      alive "$pretrain_pid" && (( step < steps )) || continue
      "$cluster" kill "$victim" 2>/dev/null || { run_failure="cluster.sh kill $victim failed (kill $(( next + 1 ))/$kills)"; break; }
      kill_time+=("$(date +%s.%N)"); recovery+=(null)
      next=$(( next + 1 )); kills_done=$next; kill_steps+=("$step"); min_next=$(( step + gap ))
      kill_roles+=("$hit"); kill_hosted+=("$hosted")
      say "kill $next/$kills at $(role_phrase "$aim"): silo $victim (pid $vpid, ${hosted:-nothing of the run}) at step $step${why:+ ($why)}"
      "$cluster" add >"$work/add-$next.out" 2>"$work/add-$next.err" </dev/null &
      add_pid=$!; add_retried=""
      continue
    fi
    sleep 0.2
  done
  if [ -n "$add_pid" ]; then wait "$add_pid" || true; fi
  if alive "$pretrain_pid"; then
    stop_pid "$(cat "$work/pretrain.pid" 2>/dev/null || true)" 10
    stop_pid "$pretrain_pid" 5
  fi
  run_rc=0; wait "$pretrain_pid" || run_rc=$?
  pretrain_pid=""
  if [ -z "$run_failure" ] && [ "$run_rc" -ne 0 ]; then
    run_failure="the $label run failed (sslo exit $run_rc, at step $(current_step "$err")/$steps)"
    local why
    # The CLI's own verdict, else the first line of an unhandled exception.
    why=$(err_lines "$err" | grep -E '^sslo: run .* failed' | tail -n 1 || true)
    [ -n "$why" ] || why=$(err_lines "$err" | grep -E '^Unhandled exception' | head -n 1 || true)
    [ -n "$why" ] || why=$(err_lines "$err" | grep -iE 'error|fail' | grep -vE '^[[:space:]]+at ' | tail -n 1 || true)
    why=${why:0:400}
    [ -n "$why" ] && run_failure+=": $why"
  fi
  if [ -z "$run_failure" ] && ! result_line "$out" >/dev/null; then
    run_failure="the $label run printed no JSON result line"
  fi
  if [ -z "$run_failure" ] && (( kills_done < kills )); then
    run_failure="only $kills_done of $kills kills happened before the $label run ended (kill steps: ${kill_steps[*]:-none}; planned: ${targets[*]}): raise CHAOS_STEPS"
  fi
  if [ -n "$run_failure" ]; then
    say "$run_failure"
    say "the end of the $label run's stderr:"
    err_lines "$err" | grep -vE '^[[:space:]]+at |^--- End of' | tail -n 12 | sed 's/^/  | /' >&2 || true
    [ "${CHAOS_KEEP:-0}" = 1 ] || say "(CHAOS_KEEP=1 keeps the cluster's and the run's logs)"
  else
    say "$label run completed: $(current_step "$err") steps in $(( SECONDS - started )) s"
  fi
}

# The last line of a pretrain's stdout when it is a JSON object.
result_line() {
  local line
  line=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1) || return 1
  [[ "$line" == \{* ]] || return 1
  if [ "$json" = jq ]; then jq -e 'type == "object"' >/dev/null 2>&1 <<< "$line" || return 1
  else python3 -c 'import json,sys; assert isinstance(json.loads(sys.stdin.read()), dict)' <<< "$line" 2>/dev/null || return 1; fi
  echo "$line"
}

# --- the two runs ------------------------------------------------------------------------------------------------
failure=""
undisturbed="null"; disturbed="null"
run_pretrain undisturbed 0
if [ -n "$run_failure" ]; then
  failure=$run_failure
else
  undisturbed=$(result_line "$work/undisturbed.out")
  run_pretrain disturbed "$kills_planned"
  [ -n "$run_failure" ] && failure=$run_failure
  disturbed=$(result_line "$work/disturbed.out" || echo null)
fi
kills=$kills_done
kill_steps_json="[$(IFS=,; echo "${kill_steps[*]:-}")]"
# Seconds from each SIGKILL until the run had finished one more step (null: it never did).
recovery_json="[$(IFS=,; echo "${recovery[*]:-}")]"
# A JSON string of plain text (the roles are words, numbers and spaces; quotes and backslashes escaped all the same).
json_string() { local t=${1//\\/\\\\}; printf '"%s"' "${t//\"/\\\"}"; }
kill_roles_json="["; kill_hosted_json="["
for (( i = 0; i < ${#kill_roles[@]}; i++ )); do
  (( i == 0 )) || { kill_roles_json+=","; kill_hosted_json+=","; }
  kill_roles_json+=$(json_string "${kill_roles[i]}")
  kill_hosted_json+="["
  if [ -n "${kill_hosted[i]}" ]; then
    IFS=, read -r -a parts <<< "${kill_hosted[i]}"
    for (( j = 0; j < ${#parts[@]}; j++ )); do
      (( j == 0 )) || kill_hosted_json+=","
      kill_hosted_json+=$(json_string "${parts[j]# }")
    done
  fi
  kill_hosted_json+="]"
done
kill_roles_json+="]"; kill_hosted_json+="]"

# --- the verdict -------------------------------------------------------------------------------------------------
# Prints the JSON line on stdout, what fails on stderr; false unless the chaos run passed. param_l2 is compared as
# printed by the CLI (the shortest text that round-trips the double); python3 keeps that text in the output, jq 1.6
# compares and prints the doubles.
verdict_python() {
  python3 - "$disturbed" "$undisturbed" "$kills" "$kills_planned" "$kill_steps_json" "$steps" "$kill_seed" "$failure" \
    "$kill_roles_json" "$kill_hosted_json" "$recovery_json" <<'PY'
import json, sys

class Raw(str):
    """A JSON number kept as the text it was printed with."""

def load(text):
    return json.loads(text, parse_float=Raw, parse_int=Raw) or {}

d, u = load(sys.argv[1]), load(sys.argv[2])
failure = sys.argv[8] or None
out = {"kills": int(sys.argv[3])}
for key in ("steps_redone", "microbatches_redone", "samples_lost", "samples_doubled", "param_l2"):
    out[key] = d.get(key)
out["param_l2_undisturbed"] = u.get("param_l2")
out["identical"] = isinstance(out["param_l2"], Raw) and out["param_l2"] == out["param_l2_undisturbed"]
out.update(kills_planned=int(sys.argv[4]), kill_steps=json.loads(sys.argv[5]), kill_roles=json.loads(sys.argv[9]),
           kill_hosted=json.loads(sys.argv[10]), recovery_seconds=json.loads(sys.argv[11]), steps=int(sys.argv[6]),
           kill_seed=int(sys.argv[7]), failure=failure)
raws = []
def mark(v):
    if isinstance(v, Raw):
        raws.append(str(v))
        return "\0raw%d\0" % (len(raws) - 1)
    return v
line = json.dumps({k: mark(v) for k, v in out.items()}, separators=(",", ":"))
for i, text in enumerate(raws):
    line = line.replace(json.dumps("\0raw%d\0" % i), text)
ok = failure is None
if d:
    for key in ("samples_lost", "samples_doubled"):
        if out[key] is None:
            print(f"chaos: warning: the disturbed run's JSON has no {key}: not checked", file=sys.stderr)
        elif out[key] != "0":
            print(f"chaos: {key} is {out[key]}, not 0", file=sys.stderr); ok = False
    if not out["identical"]:
        print(f"chaos: param_l2 {out['param_l2']} of the disturbed run differs from {out['param_l2_undisturbed']} of the undisturbed run", file=sys.stderr)
        ok = False
print(line)
sys.exit(0 if ok else 1)
PY
}

verdict_jq() {
  local line ok=1 v f
  line=$(jq -cn --argjson d "$disturbed" --argjson u "$undisturbed" --argjson kills "$kills" --argjson planned "$kills_planned" \
    --argjson ks "$kill_steps_json" --argjson kr "$kill_roles_json" --argjson kh "$kill_hosted_json" --argjson rs "$recovery_json" \
    --argjson steps "$steps" --argjson seed "$kill_seed" --arg failure "$failure" '
    {kills: $kills, steps_redone: $d.steps_redone, microbatches_redone: $d.microbatches_redone,
     samples_lost: $d.samples_lost, samples_doubled: $d.samples_doubled,
     param_l2: $d.param_l2, param_l2_undisturbed: $u.param_l2,
     identical: (($d.param_l2 | type == "number") and $d.param_l2 == $u.param_l2),
     kills_planned: $planned, kill_steps: $ks, kill_roles: $kr, kill_hosted: $kh, recovery_seconds: $rs, steps: $steps, kill_seed: $seed,
     failure: (if $failure == "" then null else $failure end)}')
  [ -z "$failure" ] || ok=0
  if [ "$disturbed" != null ]; then
    for f in samples_lost samples_doubled; do
      v=$(jq -r --arg k "$f" '.[$k] | tostring' <<< "$line")
      if [ "$v" = null ]; then say "warning: the disturbed run's JSON has no $f: not checked"
      elif [ "$v" != 0 ]; then say "$f is $v, not 0"; ok=0; fi
    done
    if [ "$(jq -r .identical <<< "$line")" != true ]; then
      say "param_l2 $(jq -r .param_l2 <<< "$line") of the disturbed run differs from $(jq -r .param_l2_undisturbed <<< "$line") of the undisturbed run"
      ok=0
    fi
  fi
  echo "$line"
  [ $ok = 1 ]
}

ok=1
line=$(verdict_"$json") || ok=0
if [ $ok = 1 ]; then say "passed: $kills kill(s), the same model as the undisturbed run"
else say "FAILED${failure:+: $failure}"; fi
echo "$line"
[ $ok = 1 ]
