#!/usr/bin/env bash
# Benchmark 6, latency of the status command: `corral status` against a corral
# running 2 workers, `pm2 jlist` against a PM2 daemon with 2 cluster instances
# (its own PM2_HOME in a temp dir), and `supervisorctl status` against a
# supervisord (temp config: unix socket in a temp dir, nodaemon, one program).
# The same Node app everywhere (examples/node/server.js). Each round is one
# hyperfine run (warmup 3, $ADMIN_RUNS runs per command, default 30, no
# intermediate shell) over the three, in rotating order; $ROUNDS_ADMIN rounds
# (default 3).
# Output: $RESULTS/admin-ROUND.json (hyperfine --export-json) and admin.jsonl.
source "$(dirname "$0")/lib.sh"
out=$RESULTS/admin.jsonl; : >"$out"
rounds=${ROUNDS_ADMIN:-3}
runs=${ADMIN_RUNS:-30}

tmp=$(mktemp -d -t corral-bench-admin.XXXXXX)
trap 'cleanup; rm -rf "$tmp"' EXIT
pm2_home=$(mktemp -d -t corral-bench-pm2.XXXXXX)
read -r p_corral p_pm2 p_sup <<<"$(free_ports 3)"
name=bench-admin-$BASHPID
cat >"$tmp/supervisord.conf" <<CONF
[unix_http_server]
file = $tmp/supervisor.sock
chmod = 0700

[supervisord]
nodaemon = true
logfile = $tmp/supervisord.log
pidfile = $tmp/supervisord.pid
childlogdir = $tmp

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://$tmp/supervisor.sock

[program:hello]
command = node examples/node/server.js
directory = $REPO
environment = PORT="$p_sup",HOST="127.0.0.1"
stopsignal = TERM
CONF

cat >"$RESULTS/admin.cmds" <<CMDS
$CORRAL run --name bench-admin --workers 2 --listen http=127.0.0.1:$p_corral -- node examples/node/server.js '{fd:http}' &
PORT=$p_pm2 WORKERS=2 PM2_HOME=\$(mktemp -d) $PM2 start examples/node/ecosystem.config.js
# supervisord.conf: [unix_http_server] file = TMP/supervisor.sock; [supervisord] nodaemon = true;
#   [program:hello] command = node examples/node/server.js, environment = PORT="$p_sup"
supervisord -c supervisord.conf &
PM2_HOME=... hyperfine -N --warmup 3 --runs $runs --export-json admin-ROUND.json \\
  '$CORRAL status --name bench-admin' '$PM2 jlist' 'supervisorctl -c supervisord.conf status'
CMDS

spawn "$RESULTS/admin-corral.log" "$CORRAL" run --name "$name" --workers 2 --listen "http=127.0.0.1:$p_corral" \
  -- node examples/node/server.js '{fd:http}'
PORT=$p_pm2 WORKERS=2 pm2_start "$pm2_home" examples/node/ecosystem.config.js
spawn "$RESULTS/admin-supervisord.log" supervisord -c "$tmp/supervisord.conf"
for p in "$p_corral" "$p_pm2" "$p_sup"; do wait_http "$p"; done
sleep 2

declare -A cmd
cmd[corral]="$CORRAL status --name $name"
cmd[pm2]="$PM2 jlist"
cmd[supervisorctl]="supervisorctl -c $tmp/supervisord.conf status"
labels=(corral pm2 supervisorctl)
for l in "${labels[@]}"; do  # each must succeed (hyperfine stops on a failure)
  # shellcheck disable=SC2086  # a command line on purpose
  PM2_HOME=$pm2_home ${cmd[$l]} >"$tmp/$l.out" 2>&1 || { log "admin: '${cmd[$l]}' failed:"; head -c 2000 "$tmp/$l.out" >&2; exit 1; }
done
cp "$tmp/corral.out" "$RESULTS/admin-corral-status.txt"  # what `corral status` printed (pm2 jlist's output holds the environment)

for round in $(seq "$rounds"); do
  k=$(((round - 1) % ${#labels[@]}))
  order=("${labels[@]:k}" "${labels[@]:0:k}")
  args=()
  for l in "${order[@]}"; do args+=(-n "$l" "${cmd[$l]}"); done
  log "admin: round $round/$rounds (${order[*]})"
  PM2_HOME=$pm2_home timeout 600 hyperfine -N --warmup 3 --runs "$runs" --style basic \
    --export-json "$RESULTS/admin-$round.json" "${args[@]}" >&2
  $PY admin-record --round "$round" "$RESULTS/admin-$round.json" >>"$out"
done
