#!/usr/bin/env bash
# Sensor throughput benchmark (not a test).
#
# Builds a large capture by replicating the flows of the six real protocol-stack
# captures in ../shared/data/pcaps/stacks (80 % ICS, 20 % synthetic IT bulk traffic,
# distinct addresses and vendor MACs per copy), then times on the same file:
#   sluice analyze (store + JSON lines) with 1 and 2 worker threads, and without a store,
#   tshark (fields to /dev/null), nfstream (PyPI, in a venv under bench/.venv).
# Prints packets/s, Mbit/s, CPU seconds and peak RSS per tool and the ratios.
#
# Usage: bench/sensor.sh [PACKETS]   (default 6000000, about 1.7 GB)
# Env:   BENCH_DIR (default /tmp/sluice-bench), SKIP_PEERS=1 to time Sluice only.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS="${1:-6000000}"
DIR="${BENCH_DIR:-/tmp/sluice-bench}"
STACKS="../shared/data/pcaps/stacks"
mkdir -p "$DIR"
[ -d "$STACKS" ] || { echo "bench: $STACKS not found (the shared data folder must sit beside the repo)"; exit 2; }

cargo build --release -q -p sluice -p sluice-synth
BIN="${CARGO_TARGET_DIR:-target}/release"
P="../shared/data/pcaps"
# (GOOSE, SV and Profinet RT are layer-2 only: replication copies IPv4 flows, so they
# are not in the mix; Profinet's IP part, DCE/RPC CM, is.)
EXTRA=("$P/iec61850-mms/mms-iti-iec61850-read.pcap"
    "$P/opcua/opcua-icsnpp-open62541-mainloop.pcap" "$P/s7comm/s7commplus-icsnpp-s7comm-plus.pcap"
    "$P/profinet/profinet-icsnpp-io-cm.pcapng" "$P/mqtt/mqtt-zeek-mqtt.pcap"
    "$P/http/http-zeek-pipelined-requests.pcap" "$P/dns/dns-zeek-dynamic-update.pcap"
    "$P/tls/tls-zeek-tls12.pcap" "$P/ssh/ssh-zeek-kex-curve25519.pcap" "$P/rdp/rdp-sv-rdp-003.pcap"
    "$P/vnc/vnc-zeek-mac-to-linux.pcap" "$P/smb/smb-zeek-smb2-readwrite.pcap")
CAP="$DIR/bench-mixed-$PACKETS.pcap"
if [ ! -f "$CAP" ]; then
    "$BIN/sluice-synth" replicate --packets "$PACKETS" -o "$CAP.part" "$STACKS"/*.pcap "${EXTRA[@]}"
    mv "$CAP.part" "$CAP"
fi
CORE="$DIR/bench-modbus-dnp3-$PACKETS.pcap"
if [ ! -f "$CORE" ]; then
    "$BIN/sluice-synth" replicate --packets "$PACKETS" -o "$CORE.part" "$STACKS/modbus.pcap" "$STACKS/dnp3.pcap"
    mv "$CORE.part" "$CORE"
fi
BYTES=$(stat -c %s "$CAP")
echo "capture: $CAP ($PACKETS packets, $BYTES bytes)"

results=()
# measure NAME CMD...: runs CMD under /usr/bin/time, records wall, cpu, rss
measure() {
    local name="$1"; shift
    sync
    cat "$CAP" > /dev/null  # warm the page cache: every tool reads from memory
    local out
    out=$( { /usr/bin/time -f "TIME %e %U %S %M" "$@" > /dev/null 2> "$DIR/$name.err"; } 2>&1 || true)
    local line
    line=$(grep '^TIME' "$DIR/$name.err" | tail -1 || true)
    [ -n "$line" ] || { echo "$name failed: $(tail -3 "$DIR/$name.err")"; return; }
    read -r _ wall user sys rss <<< "$line"
    results+=("$name $wall $user $sys $rss")
}

rm -f "$DIR"/bench.db* "$DIR/events.json"
measure "sluice-1-thread-store+json" "$BIN/sluice" analyze "$CAP" --db "$DIR/bench.db" --events "$DIR/events.json" -q --workers 1
rm -f "$DIR"/bench.db* "$DIR/events.json"
measure "sluice-2-threads-store+json" "$BIN/sluice" analyze "$CAP" --db "$DIR/bench.db" --events "$DIR/events.json" -q --workers 2
rm -f "$DIR"/bench.db* "$DIR/events.json"
measure "sluice-1-thread-no-store" "$BIN/sluice" analyze "$CAP" --no-db -q --workers 1
measure "sluice-2-threads-no-store" "$BIN/sluice" analyze "$CAP" --no-db -q --workers 2
# The Modbus/DNP3-only capture, single thread, for the per-packet comparison.
MIXED="$CAP"; CAP="$CORE"
rm -f "$DIR"/bench.db* "$DIR/events.json"
measure "modbus-dnp3-1-thread-store+json" "$BIN/sluice" analyze "$CAP" --db "$DIR/bench.db" --events "$DIR/events.json" -q --workers 1
rm -f "$DIR"/bench.db* "$DIR/events.json"
measure "modbus-dnp3-1-thread-no-store" "$BIN/sluice" analyze "$CAP" --no-db -q --workers 1
CAP="$MIXED"

if [ "${SKIP_PEERS:-0}" != 1 ]; then
    if command -v tshark > /dev/null; then
        measure "tshark-fields" tshark -n -r "$CAP" -T fields -e frame.number -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e _ws.col.Protocol
    else
        echo "tshark not installed: skipped"
    fi
    if [ ! -x bench/.venv/bin/python ]; then
        python3 -m venv bench/.venv && bench/.venv/bin/pip install -q nfstream
    fi
    measure "nfstream" bench/.venv/bin/python -c "
import sys
from nfstream import NFStreamer
n = 0
for f in NFStreamer(source=sys.argv[1], n_dissections=20, statistical_analysis=False):
    n += 1
print(n)" "$CAP"
fi

printf "\n%-30s %10s %12s %10s %8s %10s\n" tool wall_s packets/s Mbit/s cpu_s rss_MiB
declare -A pps
for r in "${results[@]}"; do
    read -r name wall user sys rss <<< "$r"
    p=$(awk -v n="$PACKETS" -v w="$wall" 'BEGIN{printf "%.0f", n/(w>0?w:0.001)}')
    m=$(awk -v b="$BYTES" -v w="$wall" 'BEGIN{printf "%.0f", b*8/(w>0?w:0.001)/1e6}')
    c=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
    printf "%-30s %10s %12s %10s %8s %10s\n" "$name" "$wall" "$p" "$m" "$c" "$((rss / 1024))"
    pps[$name]=$p
done
echo
ratio() { [ -n "${pps[$1]:-}" ] && [ -n "${pps[$2]:-}" ] && awk -v a="${pps[$1]}" -v b="${pps[$2]}" -v t="$1 / $2" 'BEGIN{printf "%-60s %.2fx\n", t, a/b}'; return 0; }
ratio sluice-1-thread-store+json modbus-dnp3-1-thread-store+json
ratio sluice-1-thread-no-store modbus-dnp3-1-thread-no-store
ratio sluice-2-threads-store+json sluice-1-thread-store+json
ratio sluice-2-threads-no-store sluice-1-thread-no-store
ratio sluice-1-thread-store+json tshark-fields
ratio sluice-1-thread-store+json nfstream
ratio sluice-1-thread-no-store tshark-fields
ratio sluice-1-thread-no-store nfstream
