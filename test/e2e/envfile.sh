#!/bin/bash
# env_file and `baton reload --env`: a worker sees env_file's values after
# [env]; a changed env_file takes effect at the next reload, not before; a
# bad line fails the reload with ENVFILE:LINE and the old worker keeps
# running; --env applies, sticks over reloads that change no file, and is
# dropped when baton.ini or env_file changes; a malformed control request
# is refused and reloads nothing.
. "$(dirname "$0")/lib.sh"

CONF=$T_DIR/app.ini
ENVF=$T_DIR/app.env
LOG=$T_DIR/baton.log
SOCK=$T_DIR/app.sock

# Each worker writes its environment to env.GENERATION, then waits.
write_conf "$CONF" <<CONF
[baton]
command = sh -c 'env > "\$0/env.\$BATON_GENERATION"; exec sleep 1000' $T_DIR
ready = delay
ready_delay = 200ms
drain_timeout = 2s
control = $SOCK
env_file = app.env

[env]
FROM_INI = ini
BOTH = ini
CONF
cat >"$ENVF" <<'ENV'
# the application's settings
export FROM_FILE=file
BOTH = file
QUOTED="a \"b\" $c"
LITERAL='x \n y'
ENV

# envof GEN NAME: the value of NAME that generation GEN's worker saw.
envof() {
	sed -n "s/^$2=//p" "$T_DIR/env.$1" 2>/dev/null
}

# reload NAME ARGS...: baton reload ARGS, in ctl NAME.
reload() {
	local name=$1
	shift
	ctl "$name" reload -s "$SOCK" "$@"
}

start_active "$LOG" run -c "$CONF"
t_ok "generation 1 is active" log_has "$LOG" 'generation 1: active'
wait_until 5 test -s "$T_DIR/env.1"
t_is "$(envof 1 FROM_INI)" ini "[env] reaches the worker"
t_is "$(envof 1 FROM_FILE)" file "env_file reaches the worker (export form)"
t_is "$(envof 1 BOTH)" file "env_file wins over [env]"
t_is "$(envof 1 QUOTED)" 'a "b" $c' "double quotes: escapes, no expansion"
t_is "$(envof 1 LITERAL)" 'x \n y' "single quotes: literal"

# A long value: past inih's 199 characters.
LONGV=$(printf 'v%.0s' $(seq 1 500))
echo "LONGV=$LONGV" >>"$ENVF"
sleep 0.3
t_is "$(envof 1 LONGV)" "" "a changed env_file does nothing before a reload"
reload r2
t_is "$T_STATUS" 0 "reload after an env_file change: exit 0"
t_is "$(envof 2 LONGV)" "$LONGV" "the changed env_file applies at the reload (500 characters)"

# A bad line: the reload fails naming ENVFILE:LINE, nothing changes.
echo 'NOT A LINE' >>"$ENVF"
reload bad
t_is "$T_STATUS" 78 "a bad env_file line: exit 78"
t_ok "the error names the env file and its line" \
    grep -q "app.env:7: expected KEY=VALUE" "$T_DIR/bad.err"
t_diag "$(out bad)"
t_ok "the error is logged" log_has "$LOG" "app.env:7: expected KEY=VALUE"
t_is "$(alive $(gen_pids "$LOG" 2))" 1 "generation 2's worker keeps running"
t_ok "no generation 3 started" sh -c "! grep -q 'generation 3' '$LOG'"
sed -i '$d' "$ENVF"

# --env applies, wins over env_file, and sticks over a reload without a
# file change.
reload r3 --env BOTH=override --env EXTRA="one two"
t_is "$T_STATUS" 0 "reload --env: exit 0"
t_is "$(envof 3 BOTH)" override "--env wins over env_file"
t_is "$(envof 3 EXTRA)" "one two" "--env adds a variable"
t_ok "the reload logs the --env it applies" log_has "$LOG" 'reload: --env BOTH, EXTRA'
reload r4
t_is "$(envof 4 BOTH)" override "--env sticks over a reload without a file change"
t_ok "and says so" log_has "$LOG" 'unchanged: keeping --env BOTH, EXTRA'
reload r5 --env EXTRA=three
t_is "$(envof 5 EXTRA)" three "a later --env replaces one"
t_is "$(envof 5 BOTH)" override "and keeps the others"

# Only a change of what the files give drops them: a comment does not.
echo '# only a comment' >>"$ENVF"
reload r6
t_is "$(envof 6 BOTH)" override "a new comment in env_file is no change"
echo 'FROM_FILE=changed' >>"$ENVF"
sed -i '/^export FROM_FILE/d' "$ENVF"
reload r7
t_is "$T_STATUS" 0 "reload after a change: exit 0"
t_is "$(envof 7 BOTH)" file "a changed env_file drops the --env"
t_is "$(envof 7 EXTRA)" "" "all of them"
t_is "$(envof 7 FROM_FILE)" changed "and its new value applies"
t_ok "the drop is logged" log_has "$LOG" 'configuration changed: dropping'
reload r8 --env BOTH=again
t_is "$(envof 8 BOTH)" again "--env again"
sed -i 's/^FROM_INI = ini/FROM_INI = ini2/' "$CONF"
reload r9
t_is "$(envof 9 FROM_INI)" ini2 "a baton.ini change applies"
t_is "$(envof 9 BOTH)" file "and drops the --env as well"

# Bad requests: refused by the client (64) or by baton; nothing reloads.
reload u1 --env 'BATON_FD=1'
t_is "$T_STATUS" 64 "--env of a variable baton sets: usage error"
reload u2 --env '1X=1'
t_is "$T_STATUS" 64 "--env of a bad name: usage error"
if command -v socat >/dev/null; then
	for req in 'reload --env' 'reload --env "X=1' 'reload --bogus X=1' \
	    'reload --env LISTEN_FDS=1' 'reload --env =1' 'reload X=1'; do
		printf '%s\n' "$req" |
		    timeout 10 socat -t 1 - "UNIX-CONNECT:$SOCK" >"$T_DIR/raw.out" 2>&1
		t_ok "the wire: '$req' is refused with an error" \
		    grep -q '^error ' "$T_DIR/raw.out"
		t_diag "$(cat "$T_DIR/raw.out")"
	done
	t_ok "refusals are logged" log_has "$LOG" 'control: reload refused'
else
	t_skip "socat is not installed: malformed requests"
fi
t_ok "no generation 10 started" sh -c "! grep -q 'generation 10' '$LOG'"

stop_baton
t_is "$T_STATUS" 0 "baton stops cleanly"
t_done
