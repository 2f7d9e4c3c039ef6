#!/usr/bin/env bash
# Builds the decode harness behind BENCHMARKS.md's "The decode stage in one pass": CallAuditDomain and the
# simulator's sources compiled with `swiftc -O` into one executable, SHA-256 stubbed out (both decoders hash
# the same bytes once), so callgrind can count the decode stage's instructions where `perf stat` has no
# counters, and an LD_PRELOAD counter can count its mallocs. Usage, from the repository root:
#   ops/decode-harness/build.sh OUT_DIR
#   valgrind --tool=callgrind OUT_DIR/h tree|scan|columns|decode N     (run also with N = 0, and subtract)
#   LD_PRELOAD=OUT_DIR/malloccount.so OUT_DIR/h decode N
#   FUZZ_ROOT=FuzzTesting OUT_DIR/h ROUNDS   the differential check on the corpus, fuzz inputs and ROUNDS mutants
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/ops/decode-harness"
OUT="$(mkdir -p "$1" && cd "$1" && pwd)"
rm -rf "$OUT/src" && mkdir -p "$OUT/src"
for f in $(cd "$ROOT" && find Sources/CallAuditDomain -name '*.swift'); do
    sed 's/^import Crypto$//' "$ROOT/$f" >"$OUT/src/$(echo "$f" | tr / _)"
done
for f in CallScenario RepeatCaller SeededRandom SimulatedMessage TrafficSimulator; do
    sed 's/^import CallAuditDomain$//' "$ROOT/Sources/CallAuditSimulator/$f.swift" >"$OUT/src/Sim_$f.swift"
done
grep -v "import CallAuditDomain" "$ROOT/Tests/CallAuditDomainTests/ContractCorpus.swift" >"$OUT/src/ContractCorpus.swift"
swiftc -O -parse-as-library -package-name harness -module-name CallAuditDomain "$OUT"/src/*.swift \
    "$HERE/main.swift" "$HERE/bench.swift" "$HERE/Resources.swift" "$HERE/CryptoStub.swift" -o "$OUT/h"
gcc -O2 -shared -fPIC "$HERE/malloccount.c" -o "$OUT/malloccount.so" -ldl
