#!/usr/bin/env bash
# Benchmark of `sluice gate` (not a test): latency the gate adds over talking to the PLC
# directly, p50 and p99, at 1,000 and 10,000 requests/s from concurrent clients on
# loopback (plain Modbus/TCP and Modbus/TCP Security), and the most requests/s through
# the gate. Everything runs on this machine: a mock PLC (Rust, pipelining), the gate
# (the library `sluice gate` runs, 2 worker threads, full audit to JSONL + SQLite) and
# the load generator (crates/gate/examples/gate_load.rs).
#
# A bare TCP relay runs beside them: the latency it adds is the floor any user-space
# proxy pays on this machine (scheduler wake-ups of one more process, twice per
# request), to read the gate's figures against.
#
# Usage: bench/gate.sh            env: SECS (fixed-rate runs, default 10), MAX_SECS
#                                 (throughput runs, default 3), CONNS (default 8),
#                                 PIPELINE (throughput runs, default 16)
# Every request is audited: a throughput run writes ~500 bytes of audit log and a
# state-database row per request; the state is reset between phases.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10}
MAX_SECS=${MAX_SECS:-3}
CONNS=${CONNS:-8}
PIPELINE=${PIPELINE:-16}
PLC_PORT=${PLC_PORT:-15020}
PLAIN_PORT=${PLAIN_PORT:-18502}
TLS_PORT=${TLS_PORT:-18802}
RELAY_PORT=${RELAY_PORT:-18600}

cargo build --release --quiet -p sluice-gate --example gate_load
BIN="${CARGO_TARGET_DIR:-target}/release/examples/gate_load"
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

"$BIN" setup --dir "$DIR" --plc "127.0.0.1:$PLC_PORT" --tls-port "$TLS_PORT" --plain-port "$PLAIN_PORT" >/dev/null
"$BIN" plc --listen "127.0.0.1:$PLC_PORT" 2>/dev/null & PIDS+=($!)
GATE=
start_gate() {
    if [ -n "$GATE" ]; then kill "$GATE"; wait "$GATE" 2>/dev/null || true; fi
    rm -f "$DIR"/audit.jsonl "$DIR"/gate.db*
    "$BIN" gate --config "$DIR/gate.toml" 2>/dev/null & GATE=$!
    PIDS+=("$GATE")
    sleep 1
}
start_gate
# A bare TCP relay (no Modbus, no decisions, no audit): what any proxy costs here.
"$BIN" relay --listen "127.0.0.1:$RELAY_PORT" --upstream "127.0.0.1:$PLC_PORT" 2>/dev/null & PIDS+=($!)
sleep 1

# Tokio's timer ticks in milliseconds: at most ~1,000 paced requests/s per connection,
# so fixed-rate runs use at least one connection per 500 requests/s.
run() { "$BIN" load "$@"; }
RESULTS="$DIR/results.jsonl"
for rate in 1000 10000; do
    conns=$(( rate / 500 > CONNS ? rate / 500 : CONNS ))
    echo "== $rate requests/s, $conns connections, ${SECS}s each" >&2
    run --secs "$SECS" --conns "$conns" --target "127.0.0.1:$PLC_PORT" --rate "$rate" | sed 's/^{/{"path":"direct",/' >>"$RESULTS"
    run --secs "$SECS" --conns "$conns" --target "127.0.0.1:$RELAY_PORT" --rate "$rate" | sed 's/^{/{"path":"bare relay",/' >>"$RESULTS"
    run --secs "$SECS" --conns "$conns" --target "127.0.0.1:$PLAIN_PORT" --rate "$rate" | sed 's/^{/{"path":"gate plain",/' >>"$RESULTS"
    run --secs "$SECS" --conns "$conns" --target "127.0.0.1:$TLS_PORT" --tls "$DIR" --rate "$rate" | sed 's/^{/{"path":"gate tls",/' >>"$RESULTS"
done
AUDIT_LINES=$(wc -l <"$DIR/audit.jsonl")
start_gate
echo "== throughput: $CONNS connections x $PIPELINE in flight, ${MAX_SECS}s each" >&2
run --secs "$MAX_SECS" --conns "$CONNS" --target "127.0.0.1:$PLC_PORT" --rate 0 --pipeline "$PIPELINE" | sed 's/^{/{"path":"direct",/' >>"$RESULTS"
run --secs "$MAX_SECS" --conns "$CONNS" --target "127.0.0.1:$PLAIN_PORT" --rate 0 --pipeline "$PIPELINE" | sed 's/^{/{"path":"gate plain",/' >>"$RESULTS"
run --secs "$MAX_SECS" --conns "$CONNS" --target "127.0.0.1:$TLS_PORT" --tls "$DIR" --rate 0 --pipeline "$PIPELINE" | sed 's/^{/{"path":"gate tls",/' >>"$RESULTS"
sleep 1
AUDIT_LINES="$AUDIT_LINES + $(wc -l <"$DIR/audit.jsonl")"

python3 - "$RESULTS" "$AUDIT_LINES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
direct = {r["rate"]: r for r in rows if r["path"] == "direct"}
print(f"{'run':<28}{'achieved/s':>12}{'p50 µs':>9}{'p99 µs':>9}{'max µs':>9}{'+p50':>7}{'+p99':>7}{'exc':>6}")
for r in rows:
    d = direct.get(r["rate"], r)
    name = f"{r['path']} @ {r['rate'] or 'max'}"
    add50 = r["p50_us"] - d["p50_us"] if r["rate"] else ""
    add99 = r["p99_us"] - d["p99_us"] if r["rate"] else ""
    print(f"{name:<28}{r['achieved_rps']:>12.0f}{r['p50_us']:>9}{r['p99_us']:>9}{r['max_us']:>9}{add50!s:>7}{add99!s:>7}{r['exceptions']:>6}")
print(f"audit log lines written: {sys.argv[2]}")
PY
