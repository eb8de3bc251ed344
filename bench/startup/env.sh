# Sourced by run.sh and ab.sh: the service's environment for a start-up measurement. Uses DATABASE_URL
# when set, else starts a throwaway PostgreSQL under artifacts/ on the given port and removes it on exit.
#   source bench/startup/env.sh PORT
pg_dir="$PWD/artifacts/bench-startup-pg-$1"
key=$(mktemp)
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$1")
  trap 'scripts/postgres.sh stop "$pg_dir"; rm -rf "$pg_dir" "$key"' EXIT
else
  trap 'rm -f "$key"' EXIT
fi

openssl genrsa -traditional -out "$key" 2048 2>/dev/null
export GITHUB_APP_ID=1 GITHUB_PRIVATE_KEY_PATH="$key" GITHUB_WEBHOOK_SECRET=bench DATABASE_URL
export ENCRYPTION_KEY=$(openssl rand -base64 32) LISTEN_ADDRESS=127.0.0.1 PORT=39123 LOG_LEVEL=Warning
# No GitHub here: the delivery-recovery loop's calls fail at once instead of leaving the machine.
export GITHUB_API_URL=http://127.0.0.1:9/ DELIVERY_RECOVERY_INTERVAL_SECONDS=86400
