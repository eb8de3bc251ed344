#!/usr/bin/env bash
# `make demo`: one full review on this machine, with nothing from the outside world. Starts a
# throwaway PostgreSQL, the simulator (GitHub's REST API and the LLM providers, see
# tools/ReviewBot.Simulator) and ReviewBot; configures the installation through the settings API;
# delivers a signed pull_request.opened webhook built from a real GitHub payload; prints what the
# pull request would show (check run progress and conclusion, the review and its inline comments);
# then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$PWD/artifacts/demo"
pg_dir="$work/postgres"
pg_port=${DEMO_PG_PORT:-55441}
sim_bin=artifacts/bin/ReviewBot.Simulator/debug/ReviewBot.Simulator
bot_bin=artifacts/bin/ReviewBot/debug/ReviewBot
pids=()
pg_started=0

say() { printf '%s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$pg_started" = 1 ]; then
    scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
  fi
  if [ "$status" != 0 ]; then
    for log in "$work"/*.log; do
      [ -s "$log" ] || continue
      printf '\n--- last lines of %s ---\n' "$log" >&2
      tail -n 20 "$log" >&2
    done
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP port on 127.0.0.1, asked of the kernel (bind to port 0), so two demos never collide.
free_port() {
  "$sim_bin" free-port
}

# Two demos at once would share the PostgreSQL data directory and port.
if [ -e "$pg_dir/postmaster.pid" ]; then
  scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
fi

command -v dotnet >/dev/null || fail "the .NET SDK is required (dotnet not found)"
mkdir -p artifacts
if [ ! -x "$sim_bin" ] || [ ! -x "$bot_bin" ] || [ "${DEMO_SKIP_BUILD:-0}" != 1 ]; then
  say "==> building (dotnet build ReviewBot.slnx)"
  dotnet build ReviewBot.slnx -c Debug -nologo -v quiet >"$PWD/artifacts/demo-build.log" 2>&1 \
    || { tail -n 30 "$PWD/artifacts/demo-build.log" >&2; fail "build failed (artifacts/demo-build.log)"; }
fi

rm -rf "$work"
mkdir -p "$work"

say "==> PostgreSQL (throwaway, $pg_dir, port $pg_port)"
database_url=$(scripts/postgres.sh start "$pg_dir" "$pg_port") || fail "could not start PostgreSQL (scripts/postgres.sh)"
pg_started=1

# Throwaway secrets: a fresh App key, webhook secret, encryption key and admin token per run.
"$sim_bin" keygen --out "$work/app-key.pem"
webhook_secret="demo-$("$sim_bin" random-hex 16)"
admin_token="$("$sim_bin" random-hex 24)"
encryption_key="$("$sim_bin" random-base64 32)"

sim_port=$(free_port)
say "==> simulator (GitHub + OpenAI/Anthropic/Gemini) on 127.0.0.1:$sim_port"
"$sim_bin" serve --port "$sim_port" --app-id 4242 --key-file "$work/app-key.pem" >"$work/simulator.log" 2>&1 &
pids+=($!)
sim_url="http://127.0.0.1:$sim_port/"

bot_port=$(free_port)
say "==> ReviewBot on 127.0.0.1:$bot_port"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  GITHUB_APP_ID=4242 \
  GITHUB_PRIVATE_KEY_PATH="$work/app-key.pem" \
  GITHUB_WEBHOOK_SECRET="$webhook_secret" \
  DATABASE_URL="$database_url" \
  ENCRYPTION_KEY="$encryption_key" \
  ADMIN_TOKEN="$admin_token" \
  PORT="$bot_port" LISTEN_ADDRESS=127.0.0.1 \
  GITHUB_API_URL="$sim_url" \
  OPENAI_BASE_URL="${sim_url}openai/v1" \
  ANTHROPIC_BASE_URL="${sim_url}anthropic" \
  GEMINI_BASE_URL="${sim_url}gemini" \
  LOG_LEVEL=Warning \
  "$bot_bin" serve >"$work/reviewbot.log" 2>&1 &
pids+=($!)

"$sim_bin" demo-run --sim "$sim_url" --reviewbot "http://127.0.0.1:$bot_port/" \
  --admin-token "$admin_token" --webhook-secret "$webhook_secret" \
  --provider "${DEMO_PROVIDER:-openai}" --model "${DEMO_MODEL:-gpt-4o-mini}" --timeout "${DEMO_TIMEOUT:-90}" \
  || fail "the review did not complete as expected (logs: $work)"
say "==> demo finished: everything it started is being stopped"
