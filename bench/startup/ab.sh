#!/usr/bin/env bash
# Start-up A/B: two or more builds started alternately (A, B, A, B, ...) in one batch, because wall-clock
# figures on a shared VM drift by ±15 ms between batches. Per build: median/min/max time from exec to
# the first 200 on /health, the CPU its threads used until then (schedstat), RSS 1 s later, page faults.
#
#   bench/startup/ab.sh 25 old=/tmp/old/ReviewBot new=artifacts/publish/ReviewBot
#
# Same environment as run.sh (a throwaway PostgreSQL without DATABASE_URL; schema applied first). A
# label's value may start with VAR=value words, e.g. 'small-gen0=DOTNET_GCgen0size=100000 /path/ReviewBot'.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:?usage: ab.sh RUNS label=binary label=binary ...}; shift
[ $# -ge 1 ] || { echo "usage: ab.sh RUNS label=binary label=binary ..." >&2; exit 1; }

source bench/startup/env.sh 55452
first=${1#*=}; "${first##* }" migrate >/dev/null

python3 - "$runs" "$@" <<'PY'
import os, shlex, socket, statistics, subprocess, sys, time
runs = int(sys.argv[1])
builds = [arg.split("=", 1) for arg in sys.argv[2:]]
ready = {label: [] for label, _ in builds}; cpu = {label: [] for label, _ in builds}
rss = {label: [] for label, _ in builds}; faults = {label: [] for label, _ in builds}

def healthy():
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", 39123))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        s.close()

for _ in range(runs):
    for label, command in builds:
        words = shlex.split(command); env = dict(os.environ)
        while "=" in words[0]:
            k, v = words.pop(0).split("=", 1); env[k] = v
        start = time.perf_counter()
        p = subprocess.Popen(words + ["serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not healthy():
            if p.poll() is not None:
                sys.exit(f"{label}: exited with {p.returncode} before it was healthy")
            time.sleep(0.0005)
        ready[label].append((time.perf_counter() - start) * 1000)
        used = 0
        for tid in os.listdir(f"/proc/{p.pid}/task"):
            try:
                used += int(open(f"/proc/{p.pid}/task/{tid}/schedstat").read().split()[0])
            except OSError:
                pass
        cpu[label].append(used / 1e6)
        faults[label].append(int(open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[7]))
        time.sleep(1)
        rss[label].append(next(int(l.split()[1]) for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS:")) / 1024)
        p.terminate(); p.wait(timeout=30)

for label, _ in builds:
    r = ready[label]
    print(f"{label:16s} ready median {statistics.median(r):6.1f} ms (min {min(r):6.1f}, max {max(r):6.1f}); "
          f"CPU {statistics.median(cpu[label]):4.0f} ms; RSS {statistics.median(rss[label]):4.1f} MiB; "
          f"faults {statistics.median(faults[label]):.0f}")
PY
