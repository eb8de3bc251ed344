#!/usr/bin/env bash
# Load benchmarks of ReviewBot against the simulator (tools/ReviewBot.Simulator), all on 127.0.0.1.
# Each scenario starts a throwaway PostgreSQL, the simulator and 1 or 2 ReviewBot replicas, drives
# them with `ReviewBot.Simulator load`, prints one line of key=value figures, and stops everything.
#
#   bench/load/run.sh throughput REPLICAS [PULLS] [INSTALLATIONS]   end-to-end reviews/s, zero upstream latency
#   bench/load/run.sh intake REPLICAS [DELIVERIES]                  webhook intake only (WORKERS_ENABLED=false)
#   bench/load/run.sh inflight REPLICAS [REVIEWS] [LLM_LATENCY_MS]  RSS and threads with REVIEWS reviews waiting on the LLM
#
# REVIEWBOT_BINARY picks the binary (default: artifacts/publish/ReviewBot when published, else the
# debug build). Results go to stdout and artifacts/bench/load-*.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."

scenario=${1:?throughput|intake|inflight}
replicas=${2:-1}
sim_bin=artifacts/bin/ReviewBot.Simulator/debug/ReviewBot.Simulator
bot_bin=${REVIEWBOT_BINARY:-}
if [ -z "$bot_bin" ]; then
  if [ -x artifacts/publish/ReviewBot ]; then bot_bin=artifacts/publish/ReviewBot; else bot_bin=artifacts/bin/ReviewBot/debug/ReviewBot; fi
fi
[ -x "$sim_bin" ] && [ -x "$bot_bin" ] || { echo "bench: build first (make build; make publish for the AOT binary)" >&2; exit 1; }

work="$PWD/artifacts/bench/load-$scenario"
pg_dir="$work/postgres"
pids=()
pg_started=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ "$pg_started" = 1 ] && scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$work"; mkdir -p "$work"

database_url=$(scripts/postgres.sh start "$pg_dir" "${BENCH_PG_PORT:-55442}")
pg_started=1
"$sim_bin" keygen --out "$work/app-key.pem"
secret=$("$sim_bin" random-hex 16); admin=$("$sim_bin" random-hex 24); enc=$("$sim_bin" random-base64 32)

case "$scenario" in
  throughput) pulls=${3:-600}; installations=${4:-60}; faults='{}'; workers=true; concurrency=8 ;;
  intake)     pulls=${3:-20000}; installations=100; faults='{}'; workers=false; concurrency=8 ;;
  inflight)   pulls=${3:-1000}; installations=$pulls; faults="{\"llmLatencyMs\":${4:-30000}}"; workers=true; concurrency=$(( (pulls + replicas - 1) / replicas )) ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac

sim_port=$("$sim_bin" free-port)
"$sim_bin" serve --port "$sim_port" --app-id 4242 --key-file "$work/app-key.pem" --faults "$faults" >"$work/simulator.log" 2>&1 &
pids+=($!)
sim_url="http://127.0.0.1:$sim_port/"

urls=(); bot_pids=()
for i in $(seq 1 "$replicas"); do
  port=$("$sim_bin" free-port)
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" GITHUB_APP_ID=4242 GITHUB_PRIVATE_KEY_PATH="$work/app-key.pem" \
    GITHUB_WEBHOOK_SECRET="$secret" DATABASE_URL="$database_url" ENCRYPTION_KEY="$enc" ADMIN_TOKEN="$admin" \
    PORT="$port" LISTEN_ADDRESS=127.0.0.1 GITHUB_API_URL="$sim_url" OPENAI_BASE_URL="${sim_url}openai/v1" \
    LOG_LEVEL=Warning WORKERS_ENABLED="$workers" REVIEW_CONCURRENCY="$concurrency" \
    "$bot_bin" serve >"$work/reviewbot-$i.log" 2>&1 &
  pids+=($!); bot_pids+=($!)
  urls+=("http://127.0.0.1:$port/")
  # Healthy before the next one starts: schema migration runs under an advisory lock anyway.
  for _ in $(seq 1 100); do "$bot_bin" healthcheck --url "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
done

joined_urls=$(IFS=,; echo "${urls[*]}"); joined_pids=$(IFS=,; echo "${bot_pids[*]}")
line=$("$sim_bin" load --sim "$sim_url" --reviewbot "$joined_urls" --webhook-secret "$secret" --admin-token "$admin" \
  --mode "$( [ "$scenario" = throughput ] && echo reviews || echo "$scenario")" --installations "$installations" --pulls "$pulls" \
  --senders "${BENCH_SENDERS:-32}" --pids "$joined_pids" --target "$pulls" --timeout "${BENCH_TIMEOUT:-300}")
echo "$line" | tee "$work/result.txt"
