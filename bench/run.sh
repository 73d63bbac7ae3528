#!/usr/bin/env bash
# The benchmark suite of issue 4: the mock backend directly, nginx and HAProxy as plain reverse
# proxies, and cc-relay, with the same worker count, alternating, in one run. Prints markdown tables and (full
# run only) writes bench/RESULTS.md.
#
#   bench/run.sh [--smoke] [--workers N] [--rounds R] [--out FILE]
#
# --smoke: ~1-2 s per scenario and small counts, for the test command; exits non-zero when any
# scenario saw an error (non-2xx, truncated stream, connection error). The full run takes ~12 min.
# CCR_BENCH_BUILD=DIR uses an already configured build folder instead of scripts/build.sh release.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD


smoke=0
workers=$(nproc)
rounds=
out=
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 ;;
        --workers) workers=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --out) out=$2; shift ;;
        *) echo "usage: $0 [--smoke] [--workers N] [--rounds R] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$rounds" ] || rounds=$([ $smoke = 1 ] && echo 1 || echo 2)
[ -n "$out" ] || out=$([ $smoke = 1 ] && echo "" || echo "$root/bench/RESULTS.md")

# ---- what the suite needs ----
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

if [ -n "${CCR_BENCH_BUILD:-}" ]; then
    dir=$CCR_BENCH_BUILD
    cmake --build "$dir" -j 2 --target cc-relay ccr-bench-backend ccr-bench-load >&2
else
    dir=$(scripts/build.sh release cc-relay ccr-bench-backend ccr-bench-load)
fi
RELAY=$root/$dir/cli/cc-relay
[ -x "$RELAY" ] || RELAY=$dir/cli/cc-relay
BACKEND=$(dirname "$RELAY")/../bench/ccr-bench-backend
LOAD=$(dirname "$RELAY")/../bench/ccr-bench-load

SECONDS=0  # the suite's own time, without the build
# 10 000 streams: the load tool holds 10 000 sockets, the relay 2 per stream.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)

# ---- scenario sizes ----
if [ $smoke = 1 ]; then
    dur=1; warm=0.2; big_dur=0.7; stream_counts=(100); stream_events=2; scale_dur=0.7; rate_dur=1
else
    dur=10; warm=1; big_dur=6; stream_counts=(1000 10000); stream_events=20; scale_dur=5; rate_dur=10
fi
if [ "$nofile" -lt 12000 ]; then
    echo "bench: open files limited to $nofile: scenario 4 stops at 1000 streams" >&2
    stream_counts=("${stream_counts[0]}")
fi
conns=64
rate=1000
base_port=${CCR_BENCH_PORT:-19380}
bport=$base_port; nport=$((base_port + 1)); rport=$((base_port + 2)); hport=$((base_port + 3))

tmp=$(mktemp -d /tmp/ccr-bench.XXXXXX)
started=()
cleanup() {
    local p
    for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${started[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

bench/gen_bodies.sh "$tmp/bodies"
echo "bench: [${SECONDS}s] bodies ready" >&2
B=$tmp/bodies

wait_port() {  # wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s at most)
    local i
    for ((i = 0; i < 200; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench: nothing listens on port $1" >&2
    return 1
}
pids_of() {  # pids_of PID: the process and its children, comma-separated
    local kids
    kids=$(pgrep -P "$1" | tr '\n' ',' || true)
    echo "$1,${kids%,}" | sed 's/,$//'
}

# ---- servers ----
"$BACKEND" --port "$bport" --events 50 > "$tmp/backend.log" 2>&1 &
backend_pid=$!
started+=("$backend_pid")
wait_port "$bport"

start_nginx() {  # start_nginx WORKERS
    mkdir -p "$tmp/nginx/logs"
    cat > "$tmp/nginx/nginx.conf" <<EOF
worker_processes $1;
worker_rlimit_nofile 65536;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 30000; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    client_max_body_size 4m;
    client_body_buffer_size 1m;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    upstream backend {
        server 127.0.0.1:$bport;
        keepalive 1024;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$nport reuseport;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 120s;
        }
    }
}
EOF
    "$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
    nginx_pid=$!
    started+=("$nginx_pid")
    wait_port "$nport"
}

start_haproxy() {  # start_haproxy WORKERS: threads (HAProxy's workers), keep-alive both ways
    cat > "$tmp/haproxy.cfg" <<EOF
global
    nbthread $1
    log stderr format short local0 err
defaults
    mode http
    timeout connect 10s
    timeout client 620s
    timeout server 620s
    http-reuse always
frontend fe
    bind 127.0.0.1:$hport
    default_backend be
backend be
    server mock 127.0.0.1:$bport
EOF
    "$HAPROXY" -db -f "$tmp/haproxy.cfg" > "$tmp/haproxy.log" 2>&1 &
    haproxy_pid=$!
    started+=("$haproxy_pid")
    wait_port "$hport"
}

start_relay() {  # start_relay WORKERS
    cat > "$tmp/relay.yaml" <<EOF
server: {listen: 127.0.0.1:$rport, workers: $1, shm_name: /cc-relay-bench-$$}
providers:
  - {name: mock, type: anthropic, enabled: true, base_url: "http://127.0.0.1:$bport", keys: [{key: sk-bench}]}
logging: {level: warn, format: text, output: stderr}
EOF
    : > "$tmp/relay.log"
    "$RELAY" serve --config "$tmp/relay.yaml" --workers "$1" >> "$tmp/relay.log" 2>&1 &
    relay_pid=$!
    started+=("$relay_pid")
    local i
    # At logging.level warn the "listening on" line is not written: wait for the port instead.
    wait_port "$rport"
    # The workers are forked once the master is ready; give them a moment to appear.
    for ((i = 0; i < 100; i++)); do
        [ "$(pgrep -P "$relay_pid" | wc -l)" -ge "$1" ] && break
        sleep 0.05
    done
}

# nginx, HAProxy and the relay start and stop together (the backend runs throughout).
start_servers() {  # start_servers WORKERS
    start_nginx "$1"
    start_haproxy "$1"
    start_relay "$1"
}
stop_servers() {
    local pid
    for pid in "$nginx_pid" "$haproxy_pid" "$relay_pid"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

start_servers "$workers"

port_of() { case $1 in direct) echo $bport ;; nginx) echo $nport ;; haproxy) echo $hport ;; relay) echo $rport ;; esac; }
pids_for() {
    case $1 in
        direct) pids_of "$backend_pid" ;;
        nginx) pids_of "$nginx_pid" ;;
        haproxy) pids_of "$haproxy_pid" ;;
        relay) pids_of "$relay_pid" ;;
    esac
}
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< " $1"; }
ms() { awk -v u="${1:-0}" 'BEGIN { printf "%.2f", u / 1000 }'; }

total_errors=0
declare -A R  # "scenario|target" -> result line (best round by req/s)

load() {  # load TARGET ARGS... -> result line; counts errors
    local target=$1 line rc=0
    shift
    line=$("$LOAD" --port "$(port_of "$target")" --pids "$(pids_for "$target")" "$@") || rc=$?
    if [ $rc -ne 0 ]; then
        local e
        e=$(kv "$line" errors)
        total_errors=$((total_errors + ${e:-1}))
        echo "bench: $target $*: errors: $line" >&2
        [ -n "$line" ] || line="ok=0 errors=1"
    fi
    echo "$line"
}

targets_for_round() {  # alternate the order between rounds
    if [ $(($1 % 2)) = 0 ]; then echo direct nginx haproxy relay; else echo relay haproxy nginx direct; fi
}

run_closed() {  # run_closed KEY ARGS...: every target, every round, best req/s kept
    local key=$1 round t line old
    shift
    for ((round = 0; round < rounds; round++)); do
        for t in $(targets_for_round $round); do
            line=$(load "$t" "$@")
            old=${R["$key|$t"]:-}
            if [ -z "$old" ] || awk -v a="$(kv "$line" rps)" -v b="$(kv "$old" rps)" \
                'BEGIN { exit !(a > b) }'; then
                R["$key|$t"]=$line
            fi
            echo "  [${SECONDS}s] $key $t: rps=$(kv "$line" rps) p99_us=$(kv "$line" p99_us) errors=$(kv "$line" errors)" >&2
        done
    done
}

echo "bench: workers=$workers rounds=$rounds smoke=$smoke nofile=$nofile" >&2
common=(--conns "$conns" --warmup "$warm")
run_closed "1 small JSON" "${common[@]}" --duration "$dur" --body "$B/small.json"
run_closed "2 SSE 50 events" "${common[@]}" --duration "$dur" --body "$B/small-sse.json" \
    --expect-events 56
run_closed "3 50 KiB JSON" "${common[@]}" --duration "$big_dur" --body "$B/50k.json"
run_closed "3 50 KiB SSE" "${common[@]}" --duration "$big_dur" --body "$B/50k-sse.json" \
    --expect-events 56
run_closed "3 500 KiB JSON" "${common[@]}" --duration "$big_dur" --body "$B/500k.json"
run_closed "3 500 KiB SSE" "${common[@]}" --duration "$big_dur" --body "$B/500k-sse.json" \
    --expect-events 56

# wrk as a cross-check of scenario 1 (same body, same connection count).
cat > "$tmp/post.lua" <<EOF
local f = io.open("$B/small.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
EOF
wrk_us() {  # a wrk latency ("812.00us", "1.20ms", "1.01s") in µs
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000;
                   else if (v ~ /m$/) f = 60e6; else f = 1e6; printf "%.0f", n * f }'
}
declare -A W
wrk_dur=$([ $smoke = 1 ] && echo 1 || echo "${dur%.*}")
for t in nginx haproxy relay; do
    o=$(wrk -t1 -c"$conns" -d"${wrk_dur}s" --latency -s "$tmp/post.lua" \
        "http://127.0.0.1:$(port_of $t)/v1/messages" 2>&1 || true)
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' <<< "$o")
    sockerr=$(sed -n 's/.*Socket errors: .*timeout \([0-9]*\).*/\1/p' <<< "$o")
    W[$t]="rps=$(awk '/Requests\/sec/ { print $2 }' <<< "$o") p50_us=$(wrk_us "$(awk '$1 == "50%" { print $2 }' <<< "$o")") p99_us=$(wrk_us "$(awk '$1 == "99%" { print $2 }' <<< "$o")") errors=$((${non2xx:-0} + ${sockerr:-0}))"
    total_errors=$((total_errors + ${non2xx:-0}))
done

# ---- scenario 4: many slow streams, on freshly started servers (so RSS is per stream) ----
stop_servers
start_servers "$workers"
declare -A S
for n in "${stream_counts[@]}"; do
    # Opening 10 000 streams at 2 000/s saturates 2 shared cores (every open is an accept and an
    # upstream connect) and delays events of streams already open, for nginx and the relay alike;
    # 500/s measures the steady state the target is about.
    open_rate=$([ "$n" -gt 2000 ] && echo 500 || echo 1000)
    for t in direct nginx haproxy relay; do
        line=$(load "$t" --streams "$n" --open-rate "$open_rate" --delay-ms 500 \
            --events "$stream_events" --expect-events $((stream_events + 6)) \
            --body "$B/small-sse.json")
        S["$n|$t"]=$line
        echo "  [${SECONDS}s] 4 streams=$n $t: ttfe_p99_us=$(kv "$line" ttfe_p99_us) late=$(kv "$line" late) rss_per_stream_kib=$(kv "$line" rss_per_stream_kib) errors=$(kv "$line" errors)" >&2
    done
done

echo "bench: [${SECONDS}s] scenario 6" >&2
# ---- scenario 6: added latency at a fixed moderate rate ----
declare -A L
for t in direct nginx haproxy relay; do
    L[$t]=$(load "$t" --rate "$rate" --conns 32 --warmup "$warm" --duration "$rate_dur" \
        --body "$B/small.json")
done

echo "bench: [${SECONDS}s] scenario 5" >&2
# ---- scenario 5: scaling (restarts nginx and the relay with 1..N workers) ----
declare -A K
upstream_conns=
stop_servers
ss_pid=
for ((w = 1; w <= $(nproc); w++)); do
    start_servers "$w"
    for t in nginx haproxy relay; do
        if [ $t = relay ] && [ $w = "$(nproc)" ]; then
            # Upstream connections the relay holds while under load (a limit on big hosts).
            ( sleep "${scale_dur%.*}"; ss -Htnp state established "( dport = :$bport )" \
                | grep -c cc-relay > "$tmp/upstream_conns" ) &
            ss_pid=$!
        fi
        K["$w|$t"]=$(load "$t" --conns "$conns" --warmup "$warm" --duration "$scale_dur" \
            --body "$B/small.json")
    done
    stop_servers
done
wait "${ss_pid:-0}" 2>/dev/null || true
upstream_conns=$(cat "$tmp/upstream_conns" 2>/dev/null || echo "?")

echo "bench: [${SECONDS}s] scenario 7" >&2
# ---- scenario 7: system calls per request, counted by perf on the servers' processes ----
# On a VM a system call costs a microsecond or more, so this count carries over better than the
# wall clock of a noisy host (bench/analysis.md, rows 28-31). Needs perf with tracepoints (root
# or kernel.perf_event_paranoid <= -1); without it the table says so.
declare -A C
syscalls_note=
sc_dur=$([ $smoke = 1 ] && echo 1 || echo 4)
if ! command -v perf >/dev/null 2>&1; then
    syscalls_note="not measured: perf is not installed (Debian: linux-perf)"
elif ! perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
    syscalls_note="not measured: perf cannot count tracepoints here (root, or kernel.perf_event_paranoid=-1)"
else
    start_servers "$workers"
    for body in small.json small-sse.json; do
        for t in nginx haproxy relay; do
            perf stat -x, -o "$tmp/perf" -p "$(pids_for "$t")" -e raw_syscalls:sys_enter \
                -e syscalls:sys_exit_recvfrom --filter 'ret == -11' \
                -e syscalls:sys_exit_recvmsg --filter 'ret == -11' -- sleep "$((sc_dur + 1))" &
            perf_pid=$!
            sleep 0.3
            line=$(load "$t" --conns "$conns" --warmup 0 --duration "$sc_dur" --body "$B/$body")
            wait "$perf_pid" || true
            ok=$(kv "$line" ok); err=$(kv "$line" errors)
            C["$body|$t"]=$(awk -F, -v n="$(( ${ok:-0} + ${err:-0} ))" '
                $3 == "raw_syscalls:sys_enter" { all = $1 }
                $3 == "syscalls:sys_exit_recvfrom" || $3 == "syscalls:sys_exit_recvmsg" { again += $1 }
                END { if (n > 0 && all ~ /^[0-9]+$/) printf "%.2f %.2f", all / n, again / n; else print "- -" }' "$tmp/perf")
        done
    done
    stop_servers
fi

# ---- tables ----
vs() {  # vs A B: A / B as "0.93×", or - without B
    awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "-" }'
}
table() {
    local key t line nginx_rps haproxy_rps ratio hratio rss ttfe
    echo "| scenario | target | req/s | p50 ms | p99 ms | TTFE p50 / p99 ms | vs nginx | vs HAProxy | CPU µs/req | peak RSS MiB | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for key in "1 small JSON" "2 SSE 50 events" "3 50 KiB JSON" "3 50 KiB SSE" \
               "3 500 KiB JSON" "3 500 KiB SSE"; do
        nginx_rps=$(kv "${R["$key|nginx"]:-}" rps)
        haproxy_rps=$(kv "${R["$key|haproxy"]:-}" rps)
        for t in direct nginx haproxy relay; do
            line=${R["$key|$t"]:-}
            ratio=$(vs "$(kv "$line" rps)" "$nginx_rps")
            hratio=$(vs "$(kv "$line" rps)" "$haproxy_rps")
            rss=$(awk -v k="$(kv "$line" rss_peak_kib)" 'BEGIN { printf "%.1f", k / 1024 }')
            ttfe=-
            [[ $key == *SSE* ]] && ttfe="$(ms "$(kv "$line" ttfe_p50_us)") / $(ms "$(kv "$line" ttfe_p99_us)")"
            echo "| $key | $t | $(printf '%.0f' "$(kv "$line" rps)") | $(ms "$(kv "$line" p50_us)") | $(ms "$(kv "$line" p99_us)") | $ttfe | $ratio | $hratio | $(kv "$line" cpu_us_per_req) | $rss | $(kv "$line" errors) |"
        done
    done
    nginx_rps=$(kv "${W[nginx]}" rps)
    haproxy_rps=$(kv "${W[haproxy]}" rps)
    for t in nginx haproxy relay; do
        line=${W[$t]}
        ratio=$(vs "$(kv "$line" rps)" "$nginx_rps")
        hratio=$(vs "$(kv "$line" rps)" "$haproxy_rps")
        echo "| 1 small JSON (wrk) | $t | $(printf '%.0f' "$(kv "$line" rps)") | $(ms "$(kv "$line" p50_us)") | $(ms "$(kv "$line" p99_us)") | - | $ratio | $hratio | - | - | $(kv "$line" errors) |"
    done
}
streams_table() {
    local n t line
    echo "| streams | target | TTFE p50 ms | TTFE p99 ms | max gap p99 ms | late streams | RSS per stream KiB | RSS added per process KiB (pid:KiB) | errors |"
    echo "|---:|---|---:|---:|---:|---:|---:|---|---:|"
    for n in "${stream_counts[@]}"; do
        for t in direct nginx haproxy relay; do
            line=${S["$n|$t"]}
            echo "| $n | $t | $(ms "$(kv "$line" ttfe_p50_us)") | $(ms "$(kv "$line" ttfe_p99_us)") | $(ms "$(kv "$line" gap_p99_us)") | $(kv "$line" late) | $(kv "$line" rss_per_stream_kib) | $(kv "$line" rss_delta_by_pid | sed 's/,/, /g') | $(kv "$line" errors) |"
        done
    done
}
latency_table() {
    local t line d50 d99
    d50=$(kv "${L[direct]}" p50_us); d99=$(kv "${L[direct]}" p99_us)
    echo "| target | rate req/s | p50 ms | p99 ms | added p50 µs | added p99 µs | CPU µs/req | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for t in direct nginx haproxy relay; do
        line=${L[$t]}
        echo "| $t | $(printf '%.0f' "$(kv "$line" rps)") | $(ms "$(kv "$line" p50_us)") | $(ms "$(kv "$line" p99_us)") | $(( $(kv "$line" p50_us) - d50 )) | $(( $(kv "$line" p99_us) - d99 )) | $(kv "$line" cpu_us_per_req) | $(kv "$line" errors) |"
    done
}
scaling_table() {
    local w t line
    echo "| workers | target | req/s | req/s per worker | p99 ms | CPU µs/req | errors |"
    echo "|---:|---|---:|---:|---:|---:|---:|"
    for ((w = 1; w <= $(nproc); w++)); do
        for t in nginx haproxy relay; do
            line=${K["$w|$t"]}
            echo "| $w | $t | $(printf '%.0f' "$(kv "$line" rps)") | $(awk -v r="$(kv "$line" rps)" -v w=$w 'BEGIN { printf "%.0f", r / w }') | $(ms "$(kv "$line" p99_us)") | $(kv "$line" cpu_us_per_req) | $(kv "$line" errors) |"
        done
    done
}

syscalls_table() {
    local body t v
    if [ -n "$syscalls_note" ]; then
        echo "$syscalls_note."
        return
    fi
    echo "| answer | target | system calls per request | of them a receive that found nothing (EAGAIN) |"
    echo "|---|---|---:|---:|"
    for body in small.json small-sse.json; do
        for t in nginx haproxy relay; do
            read -r -a v <<< "${C["$body|$t"]}"
            echo "| $([ $body = small.json ] && echo 'small JSON' || echo 'SSE 50 events') | $t | ${v[0]} | ${v[1]} |"
        done
    done
}

machine() {
    echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
    echo "- memory: $(free -g | awk '/Mem:/ { print $2 }') GiB; kernel $(uname -r)"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); cc-relay $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "- $workers workers for nginx ($($NGINX -v 2>&1 | sed 's/.*: //')), HAProxy $($HAPROXY -v 2>&1 | awk 'NR == 1 { print $3 }') (threads, http-reuse always) and cc-relay; backend: ccr-bench-backend with one process per core; load: ccr-bench-load (one thread) and wrk on the same machine"
    echo "- cc-relay logging.level: warn (no access line); best of $rounds rounds, targets alternating"
}

report() {
    echo "## Machine"
    machine
    echo
    echo "## Scenarios 1-3: throughput ($conns keep-alive connections, ${dur}s / ${big_dur}s per run)"
    echo
    table
    echo
    echo "## Scenario 4: slow streams (one event every 500 ms, $stream_events deltas + envelope)"
    echo
    streams_table
    echo
    echo "## Scenario 5: scaling (scenario 1's load, ${scale_dur}s per run)"
    echo
    scaling_table
    echo
    echo "Upstream connections held by the relay under 64-connection load: $upstream_conns."
    echo
    echo "## Scenario 6: added latency at $rate req/s (open loop, small JSON)"
    echo
    latency_table
    echo
    echo "## Scenario 7: system calls per request ($conns connections, ${sc_dur}s, every process of the target counted by perf)"
    echo
    syscalls_table
}

report > "$tmp/report.md"
cat "$tmp/report.md"
if [ -n "$out" ]; then
    {
        echo "# cc-relay benchmark results"
        echo
        echo "Written by \`bench/run.sh\` (full run); see the README's Benchmarks section."
        echo
        cat "$tmp/report.md"
        if [ -f bench/analysis.md ]; then
            echo
            cat bench/analysis.md
        fi
    } > "$out"
    echo "bench: wrote $out" >&2
fi
if [ "$total_errors" -gt 0 ]; then
    echo "bench: FAILED: $total_errors errors (see above, ${SECONDS}s)" >&2
    exit 1
fi
echo "bench: ok (${SECONDS}s)" >&2
