#!/usr/bin/env bash
# Issue 2 figures for the published native-AOT binary: size, time from exec to the first 200 on
# /health with the schema already applied, and resident memory once started.
#
#   make publish && bench/startup/run.sh            (RUNS=10, DATABASE_URL optional)
#
# Without DATABASE_URL a throwaway PostgreSQL is started (scripts/postgres.sh) and removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${REVIEWBOT_BINARY:-artifacts/publish/ReviewBot}
runs=${RUNS:-10}
[ -x "$binary" ] || { echo "no binary at $binary: run make publish" >&2; exit 1; }

source bench/startup/env.sh 55451
"$binary" migrate >/dev/null

python3 - "$binary" "$runs" <<'PY'
import os, subprocess, sys, time, urllib.request, statistics
binary, runs = sys.argv[1], int(sys.argv[2])
ready, rss = [], []
for _ in range(runs):
    start = time.perf_counter()
    p = subprocess.Popen([binary, "serve"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:39123/health", timeout=1) as r:
                if r.status == 200:
                    break
        except Exception:
            pass
        time.sleep(0.001)
    ready.append((time.perf_counter() - start) * 1000)
    time.sleep(1)
    with open(f"/proc/{p.pid}/status") as f:
        rss.append(next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024)
    p.terminate(); p.wait(timeout=30)
size = os.path.getsize(binary) / 1024 / 1024
print(f"binary size: {size:.1f} MiB")
print(f"exec to first 200 on /health ({runs} runs): median {statistics.median(ready):.0f} ms, min {min(ready):.0f} ms, max {max(ready):.0f} ms")
print(f"RSS 1 s after ready: median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB")
PY
