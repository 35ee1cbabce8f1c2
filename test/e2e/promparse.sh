#!/bin/bash
# test/promparse.py, the strict parser of Prometheus text 0.0.4 that
# metrics.sh reads every scrape with: valid input is accepted and read
# back value by value; each broken rule is refused, naming the line and
# the rule.
. "$(dirname "$0")/lib.sh"

PARSE="python3 $top_srcdir/test/promparse.py"

if ! command -v python3 >/dev/null; then
	t_skip "python3 is not installed: the parser is a python3 script"
	t_done
	exit 0
fi

# The cases are written first and judged at the end by one run of the
# parser over all of them (a python start-up is long on a busy machine).
CASES=

# good NAME: the input on stdin is valid.
good() {
	cat >"$T_DIR/$1.prom"
	CASES="$CASES $1:good"
}

# bad NAME LINE RULE: the input on stdin, its escapes made bytes (printf
# %b; \c ends it before the last newline), is refused with FILE:LINE: RULE:
# on standard error.
bad() {
	printf '%b\n' "$(cat)" >"$T_DIR/$1.prom"
	CASES="$CASES $1:$2:$3"
}

# judge: the parser over every case at once, status 1 (some are bad),
# then each case's verdict: no line for a good one, the expected one for
# a bad one.
judge() {
	local c name line rule files=
	for c in $CASES; do
		files="$files $T_DIR/${c%%:*}.prom"
	done
	# shellcheck disable=SC2086
	$PARSE $files 2>"$T_DIR/all.err" >/dev/null
	t_is $? 1 "the parser given every case at once: status 1"
	for c in $CASES; do
		name=${c%%:*} line=${c#*:} rule=${line#*:} line=${line%%:*}
		if [ "$line" = good ]; then
			! grep "^$T_DIR/$name.prom:" "$T_DIR/all.err" >"$T_DIR/$name.err"
			t_result $? "$name is accepted$( [ -s "$T_DIR/$name.err" ] && echo ": $(cat "$T_DIR/$name.err")")"
		elif grep -q "^$T_DIR/$name.prom:$line: $rule: " "$T_DIR/all.err"; then
			t_result 0 "$name: refused at line $line for $rule"
		else
			t_result 1 "$name: refused at line $line for $rule"
			echo "#   $(grep "^$T_DIR/$name.prom:" "$T_DIR/all.err")"
		fi
	done
}

# value NAME SERIES WANT...: --value SERIES of NAME.prom, for each pair,
# in one run of the parser.
value() {
	local name=$1 args=() want=() i
	shift
	while [ $# -ge 2 ]; do
		args+=(--value "$1") want+=("$2")
		shift 2
	done
	mapfile -t got < <($PARSE "${args[@]}" "$T_DIR/$name.prom" 2>&1)
	for i in "${!want[@]}"; do
		t_is "${got[$i]:-}" "${want[$i]}" "$name: ${args[$((2 * i + 1))]} is ${want[$i]}"
	done
}

good full <<'X'
# A comment, and an empty line after it.

# HELP http_requests_total Requests, by code. A \\ and a\nnewline.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
http_requests_total { method = "get" , code="200", } 2
# TYPE msdos_file_access_time_seconds gauge
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
# Untyped, no HELP nor TYPE:
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
neg_inf -Inf
not_a_number NaN
colons:in:names 0.5
	indented_with_tab .5e-3
# HELP http_request_duration_seconds A histogram of latencies.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
X
value full \
    'http_requests_total{code="400",method="post"}' 3 \
    'http_requests_total{method="get",code="200"}' 2 \
    'msdos_file_access_time_seconds{error="Cannot find file:\n\"FILE.TXT\"",path="C:\\DIR\\FILE.TXT"}' 1458255915 \
    'something_weird{problem="division by zero"}' +Inf \
    not_a_number NaN \
    indented_with_tab 0.0005 \
    'http_request_duration_seconds_bucket{le="+Inf"}' 144320
t_is "$($PARSE --value absent "$T_DIR/full.prom" 2>&1; echo "status $?")" \
    "promparse: $T_DIR/full.prom: no series absent
status 3" "an absent series is status 3, named"
t_ok "--json prints every sample" sh -c "$PARSE --json '$T_DIR/full.prom' |
    python3 -c 'import json,sys; s = json.load(sys.stdin); sys.exit(len(s) != 23)'"
good empty </dev/null
good meta-only <<'X'
# HELP unused A family with no sample yet.
# TYPE unused gauge
X
good histogram-labels <<'X'
# TYPE h histogram
h_bucket{path="/a",le="1"} 1
h_bucket{path="/a",le="+Inf"} 2
h_sum{path="/a"} 3.5
h_count{path="/a"} 2
h_bucket{path="/b",le="1"} 0
h_bucket{path="/b",le="+Inf"} 0
h_sum{path="/b"} 0
h_count{path="/b"} 0
X

# --- Each rule, broken once.
bad no-newline 2 newline <<'X'
a 1\nb 2\c
X
bad crlf 1 newline <<'X'
a 1\r
X
bad utf8 2 utf8 <<'X'
a 1\nb{l="\xff"} 2
X
bad name-digit 1 metric-name <<'X'
1abc 1
X
bad name-dash 1 metric-name <<'X'
a-b 1
X
bad label-name 1 label-name <<'X'
a{1l="x"} 1
X
bad label-reserved 1 label-name <<'X'
a{__name__="x"} 1
X
bad label-twice 1 duplicate-label <<'X'
a{l="x",l="y"} 1
X
bad label-unquoted 1 label-value <<'X'
a{l=x} 1
X
bad label-escape 1 label-value <<'X'
a{l="a\\tb"} 1
X
bad label-unclosed 1 label-value <<'X'
a{l="x} 1
X
bad labels-unclosed 1 syntax <<'X'
a{l="x" 1
X
bad label-no-comma 1 syntax <<'X'
a{l="x" m="y"} 1
X
bad no-value 1 value <<'X'
a{l="x"}
X
bad value-word 1 value <<'X'
a one
X
bad value-inf-case 1 value <<'X'
a inf
X
bad value-hex 1 value <<'X'
a 0x10
X
bad timestamp-float 1 timestamp <<'X'
a 1 1.5
X
bad extra-token 1 syntax <<'X'
a 1 2 3
X
bad help-escape 1 help-escape <<'X'
# HELP a a tab \\t
a 1
X
bad help-twice 2 help-duplicate <<'X'
# HELP a one
# HELP a two
a 1
X
bad type-twice 2 type-duplicate <<'X'
# TYPE a gauge
# TYPE a gauge
a 1
X
bad type-unknown 1 type-value <<'X'
# TYPE a meter
a 1
X
bad type-words 1 type-value <<'X'
# TYPE a gauge extra
a 1
X
bad type-name 1 metric-name <<'X'
# TYPE 9a gauge
X
bad type-after 2 metadata-after-samples <<'X'
a 1
# TYPE a gauge
X
bad help-after 3 metadata-after-samples <<'X'
# TYPE a gauge
a 1
# HELP a late
X
bad apart 3 not-contiguous <<'X'
a{l="1"} 1
b 2
a{l="2"} 3
X
bad meta-apart 3 not-contiguous <<'X'
# HELP a A.
b 2
a 1
X
bad hist-apart 4 not-contiguous <<'X'
# TYPE h histogram
h_bucket{le="+Inf"} 1
other 1
h_count 1
X
bad twice 2 duplicate-series <<'X'
a{l="1",m="2"} 1
a{m="2",l="1"} 2
X
bad counter-negative 2 counter-negative <<'X'
# TYPE c counter
c -1
X
bad counter-nan 2 counter-negative <<'X'
# TYPE c counter
c NaN
X
bad hist-plain 2 histogram-name <<'X'
# TYPE h histogram
h 1
X
bad hist-no-le 2 histogram-le <<'X'
# TYPE h histogram
h_bucket 1
X
bad hist-order 3 histogram-order <<'X'
# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="0.5"} 1
h_bucket{le="+Inf"} 1
h_sum 1
h_count 1
X
bad hist-same-le 3 duplicate-series <<'X'
# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="1"} 1
X
bad hist-equal-le 3 histogram-order <<'X'
# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="1.0"} 1
h_bucket{le="+Inf"} 1
h_sum 1
h_count 1
X
bad hist-decreasing 3 histogram-cumulative <<'X'
# TYPE h histogram
h_bucket{le="1"} 5
h_bucket{le="2"} 4
h_bucket{le="+Inf"} 5
h_sum 1
h_count 5
X
bad hist-no-inf 2 histogram-inf <<'X'
# TYPE h histogram
h_bucket{le="1"} 1
h_sum 1
h_count 1
X
bad hist-count 5 histogram-count <<'X'
# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="+Inf"} 2
h_sum 1
h_count 3
X
bad hist-no-count 2 histogram-count <<'X'
# TYPE h histogram
h_bucket{le="+Inf"} 2
h_sum 1
X
bad hist-no-sum 2 histogram-sum <<'X'
# TYPE h histogram
h_bucket{le="+Inf"} 2
h_count 2
X
bad hist-series-no-sum 5 histogram-sum <<'X'
# TYPE h histogram
h_bucket{path="/a",le="+Inf"} 1
h_sum{path="/a"} 1
h_count{path="/a"} 1
h_count{path="/b"} 0
h_bucket{path="/b",le="+Inf"} 0
X
bad hist-le-count 4 histogram-le <<'X'
# TYPE h histogram
h_bucket{le="+Inf"} 2
h_sum 1
h_count{le="+Inf"} 2
X
bad hist-negative 2 counter-negative <<'X'
# TYPE h histogram
h_bucket{le="+Inf"} -1
h_sum 1
h_count -1
X
bad summary-range 2 summary-quantile <<'X'
# TYPE s summary
s{quantile="1.5"} 1
s_sum 1
s_count 1
X
bad summary-no-count 2 summary-count <<'X'
# TYPE s summary
s{quantile="0.5"} 1
s_sum 1
X

judge
t_is "$($PARSE --bogus 2>/dev/null; echo $?)" 2 "an unknown option is a usage error (2)"
t_is "$($PARSE "$T_DIR/nonexistent" 2>&1; echo $?)" \
    "promparse: $T_DIR/nonexistent: No such file or directory
2" "an unreadable file is status 2, named"
t_done
