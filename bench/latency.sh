#!/usr/bin/env bash
# Live alert latency benchmark (not a test).
#
# Replays a capture on the loopback interface at RATE packets/s with tcpreplay while
# `sluice sense --iface lo` analyses it with the DESIGN.md example policy, the store and
# JSON lines on standard output. Live, lines leave as soon as their packet is judged and
# the store thread commits them behind (at most every 20 ms; everything by exit), so an
# alert never waits for a commit. A reader stamps every alert line as it
# arrives and prints the latency from the packet's capture timestamp (the kernel's, on
# replay) to the alert being written: p50, p99, max, per rule and for the alerts a
# packet proves (scan alerts on unanswered attempts wait for the 5 s attempt timeout),
# plus the kernel's drop counters.
# The capture replicates the project's water-plant scenarios (benign day, Oldsmar,
# pivot, reconnaissance) so that alerts keep coming during the whole replay.
#
# Usage: bench/latency.sh [PACKETS]   (default 500000; at 50k/s that is 10 s)
# Env:   RATE (default 50000), BENCH_DIR (default /tmp/sluice-bench-latency).
# Needs root (capture and injection on lo) and tcpreplay (Debian package).
# tcpreplay paces with nanosleep (--timer=nano): its default busy-waits a whole core of
# this 2-core machine. Frames are kept to 2048 bytes (--snaplen): on lo (64 KiB MTU) each
# frame otherwise takes a 64 KiB slot of the kernel ring, and 256 MiB hold only 80 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS="${1:-500000}"
RATE="${RATE:-50000}"
DIR="${BENCH_DIR:-/tmp/sluice-bench-latency}"
mkdir -p "$DIR"
command -v tcpreplay > /dev/null || { echo "bench: tcpreplay not installed (apt-get install tcpreplay)"; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root to capture and inject on lo"; exit 2; }

cargo build --release -q -p sluice -p sluice-synth
BIN="${CARGO_TARGET_DIR:-target}/release"
for s in benign oldsmar pivot recon; do
    [ -f "$DIR/$s.pcap" ] || "$BIN/sluice-synth" scenario "$s" --seed 3 -o "$DIR/$s.pcap" > /dev/null
done
CAP="$DIR/latency-$PACKETS.pcap"
if [ ! -f "$CAP" ]; then
    "$BIN/sluice-synth" replicate --packets "$PACKETS" --it-share 0.1 --window-secs 5 -o "$CAP" \
        "$DIR/benign.pcap" "$DIR/oldsmar.pcap" "$DIR/pivot.pcap" "$DIR/recon.pcap" > /dev/null
fi
cp crates/policy/src/example.toml "$DIR/site.toml"

rm -f "$DIR"/live.db*
# Replayed frames keep their plant addresses; loopback's own traffic is left out, and so
# is the outgoing copy of each injected frame (lo shows every frame twice).
"$BIN/sluice" sense --iface lo --filter "inbound and not net 127.0.0.0/8 and not ip6" --db "$DIR/live.db" \
    --config "$DIR/site.toml" --events - --buffer-mib 256 --snaplen 2048 \
    2> "$DIR/sense.err" \
    | python3 -c '
import sys, time, json
lat = []
seen = set()
by_rule = {}
for line in sys.stdin:
    now = time.time_ns()
    if "\"kind\":\"alert\"" not in line:
        continue
    ev = json.loads(line)
    if ev["event"]["id"] in seen:   # a later update of an aggregated alert (count)
        continue
    seen.add(ev["event"]["id"])
    ts = ev["@timestamp"]          # 2026-11-25T23:00:00.123456789Z
    day, frac = ts[:19], ts[20:-1].ljust(9, "0")
    t = time.strptime(day, "%Y-%m-%dT%H:%M:%S")
    sec = int(__import__("calendar").timegm(t))
    lat.append(now - (sec * 1_000_000_000 + int(frac)))
    by_rule.setdefault(ev["rule"]["id"], []).append(lat[-1])
lat.sort()
def q(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6 if lat else float("nan")
print(f"alerts {len(lat)}  latency ms: p50 {q(0.50):.3f}  p99 {q(0.99):.3f}  max {q(1.0):.3f}")
for r, v in sorted(by_rule.items()):
    v.sort()
    p99 = v[min(len(v) - 1, int(0.99 * len(v)))]
    print(f"  {r:14} {len(v):5}  p50 {v[len(v) // 2] / 1e6:10.3f}  p99 {p99 / 1e6:10.3f}  max {v[-1] / 1e6:10.3f}")
# Alerts proven by a packet (all but scans of unanswered attempts, which are proven by
# the 5 s of silence of the attempt timeout).
pk = sorted(x for r, v in by_rule.items() if not r.startswith("SLC-SCAN") for x in v)
if pk:
    print(f"packet-proven alerts {len(pk)}  p50 {pk[len(pk) // 2] / 1e6:.3f}  p99 {pk[min(len(pk) - 1, int(0.99 * len(pk)))] / 1e6:.3f}  max {pk[-1] / 1e6:.3f}")
' > "$DIR/latency.txt" &
READER=$!
sleep 2 # the capture is open before the first packet
tcpreplay --timer=nano --intf1=lo --pps="$RATE" "$CAP" 2>&1 | grep -E "Actual|Rated|Failed" || true
sleep 1
pkill -TERM -f "sluice sense --iface lo --filter inbound" || true
wait "$READER" || true
echo "sluice sense at $RATE packets/s on lo, $PACKETS packets:"
cat "$DIR/latency.txt"
grep -E "kernel:|alerts" "$DIR/sense.err" || tail -3 "$DIR/sense.err"
