#!/usr/bin/env bash
# What the outputs alone cost (not a test): a lower bound on the CPU time of
# `sluice analyze --db F --events F` on the sensor benchmark's capture, to set the
# issue's "2 million packets/s with the store and JSON lines" against this machine.
#
# Runs sluice once with the store and the JSON lines (the outputs to price), then times
# each part of the work with standard tools, none of which does more than its part:
#   sensor     sluice analyze --no-db: capture, decode, flows, parsers, detection
#   read       tcpdump -r CAP -w /dev/null: a bare libpcap walk of the records (what no
#              sensor can do without; it decodes nothing)
#   json-write copy the JSON lines file into a new file (the kernel's share of writing it)
#   compress   zstd -1 over the same JSON lines (the store keeps them in zstd blocks)
#   rows       sqlite3: INSERT ... SELECT of the event rows, block keys and flows into an
#              empty store with the same schema (no binding, no parsing: SQLite alone)
# Encoding the JSON lines is not priced (nothing but sluice does it), so the sum is a
# floor. Divided by the cores, it bounds the packets per second any implementation
# that writes these outputs can reach here, with Sluice's sensor and with nothing but a
# bare read of the records in its place; and the cores one worker already keeps busy
# bound what more workers can gain.
#
# Usage: bench/floor.sh [PACKETS]   (default 2000000; the capture is built as sensor.sh does)
# Needs: zstd, sqlite3, bc, tcpdump (Debian packages of those names).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS="${1:-2000000}"
DIR="${BENCH_DIR:-/tmp/sluice-bench}"
for t in zstd sqlite3 bc tcpdump; do
    command -v "$t" > /dev/null || { echo "floor: $t not found (apt-get install $t)"; exit 2; }
done
CAP="$DIR/bench-mixed-$PACKETS.pcap"
if [ ! -f "$CAP" ]; then
    echo "floor: $CAP not found: bench/sensor.sh $PACKETS builds it"
    exit 2
fi
cargo build --release -q -p sluice
BIN="${CARGO_TARGET_DIR:-target}/release"
W="$DIR/floor"
rm -rf "$W"
mkdir -p "$W"
cat "$CAP" > /dev/null

# cpu NAME SCRIPT: CPU seconds (user + system) and wall of the shell SCRIPT, the least of three runs
# (each after a sync: the kernel's writeback of earlier files otherwise lands on it).
declare -A CPU WALL
cpu() {
    local name="$1" script="$2"
    local best=""
    for _ in 1 2 3; do
        sync
        /usr/bin/time -f "%e %U %S" -o "$W/time" bash -c "$script" > /dev/null 2> "$W/$name.err" || {
            echo "floor: $name failed: $(tail -3 "$W/$name.err")"; exit 1; }
        read -r wall user sys < "$W/time"
        local c
        c=$(echo "$user + $sys" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$c < $best" | bc -l)" = 1 ]; then
            best=$c
            WALL[$name]=$wall
        fi
    done
    CPU[$name]=$best
}

cpu sluice "rm -f '$W'/s.db* '$W/events.json'; '$BIN/sluice' analyze '$CAP' --db '$W/s.db' --events '$W/events.json' -q"
cpu sensor "'$BIN/sluice' analyze '$CAP' --no-db -q"
cpu read "tcpdump -r '$CAP' -w /dev/null"
cat "$W/events.json" > /dev/null
cpu json-write "rm -f '$W/copy.json'; cp '$W/events.json' '$W/copy.json'"
rm -f "$W/copy.json"
cpu compress "zstd -1 -q -f -o '$W/events.json.zst' '$W/events.json'"

# The same schema, empty; the rows to insert in a database of their own (read from the
# page cache, as the store thread reads them from memory).
sqlite3 "$W/s.db" ".schema event_rows" ".schema event_keys" ".schema flows" > "$W/schema.sql"
sqlite3 "$W/src.db" "ATTACH '$W/s.db' AS s;
    CREATE TABLE r AS SELECT id, ts, dataset, kind, protocol, flow_id, src_ip, src_port,
        dst_ip, dst_port, function_code, function, block, seq FROM s.event_rows;
    CREATE TABLE k AS SELECT * FROM s.event_keys;
    CREATE TABLE f AS SELECT * FROM s.flows;"
# (Each run into a new empty store with the schema.)
cat > "$W/rows.sql" <<SQL
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-8192;
ATTACH '$W/src.db' AS src;
BEGIN;
INSERT INTO event_rows (id, ts, dataset, kind, protocol, flow_id, src_ip, src_port,
    dst_ip, dst_port, function_code, function, block, seq) SELECT * FROM src.r;
INSERT INTO event_keys SELECT * FROM src.k;
INSERT INTO flows SELECT * FROM src.f;
COMMIT;
SQL
cat "$W/src.db" > /dev/null
cpu rows "rm -f '$W'/rows.db*; sqlite3 '$W/rows.db' 'PRAGMA journal_mode=WAL;' '.read $W/schema.sql' '.read $W/rows.sql'"

events=$(wc -l < "$W/events.json")
jbytes=$(stat -c %s "$W/events.json")
cores=$(nproc)
outputs=$(echo "${CPU[json-write]} + ${CPU[compress]} + ${CPU[rows]}" | bc -l)
floor=$(echo "${CPU[sensor]} + $outputs" | bc -l)
bare=$(echo "${CPU[read]} + $outputs" | bc -l)
echo "capture: $CAP ($PACKETS packets; $events events, $jbytes bytes of JSON lines)"
printf "%-12s %8s %8s\n" part cpu_s wall_s
for n in sensor read json-write compress rows; do
    printf "%-12s %8.2f %8.2f\n" "$n" "${CPU[$n]}" "${WALL[$n]}"
done
printf "%-12s %8.2f   (sensor + json-write + compress + rows)\n" floor "$floor"
printf "%-12s %8.2f %8.2f   (%.0f packets/s)\n" sluice "${CPU[sluice]}" "${WALL[sluice]}" \
    "$(echo "$PACKETS / ${WALL[sluice]}" | bc -l)"
printf "ceiling on %d cores, every core busy on the floor's work alone: %.0f packets/s\n" \
    "$cores" "$(echo "$PACKETS * $cores / $floor" | bc -l)"
printf "the same with a bare read of the records in place of the sensor: %.0f packets/s\n" \
    "$(echo "$PACKETS * $cores / $bare" | bc -l)"
busy=$(echo "${CPU[sluice]} / ${WALL[sluice]}" | bc -l)
printf "one worker keeps %.2f of the %d cores busy: more workers can gain at most %.2fx\n" \
    "$busy" "$cores" "$(echo "$cores / $busy" | bc -l)"
rm -rf "$W"
