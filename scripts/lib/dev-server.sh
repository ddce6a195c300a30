# Sourced by scripts that need a live system: start_dev_server starts
# `asynccheckout dev` on a free port against a fresh scratch database on
# DATABASE_URL's server, sets DEV_API and DEV_KEY from its ready line, and
# stops it (and drops the database) when the calling script exits.

start_dev_server() {
  : "${DATABASE_URL:?run this under scripts/with-postgres, or set DATABASE_URL}"
  SQLX_OFFLINE=true cargo build --locked --quiet --bin asynccheckout
  DEV_WORK=$(mktemp -d)
  DEV_DATABASE="${DATABASE_URL%/*}/asynccheckout_scratch_$$"
  mkfifo "$DEV_WORK/ready"
  # The scripts' clients send as fast as they can with one key; their job is
  # what lies behind the rate limit (tests/saga/hostile_clients.rs tests it).
  RATE_LIMIT_PER_SECOND="${RATE_LIMIT_PER_SECOND:-100000}" \
  DATABASE_URL="$DEV_DATABASE" LISTEN_ADDR=127.0.0.1:0 MAIL_DIR="$DEV_WORK/mail" DATA_DIR="$DEV_WORK" \
    METRICS_ADDR=0 RUST_LOG=warn target/debug/asynccheckout dev >"$DEV_WORK/ready" 2>"$DEV_WORK/dev.log" &
  DEV_PID=$!
  trap stop_dev_server EXIT
  local line=""
  read -r line <"$DEV_WORK/ready" || true
  case "$line" in
    ready*) ;;
    *) echo "asynccheckout dev did not start:" >&2; cat "$DEV_WORK/dev.log" >&2; return 1 ;;
  esac
  DEV_API=$(sed -n 's/.*api=\([^ ]*\).*/\1/p' <<<"$line")
  DEV_KEY=$(sed -n 's/.*key=\([^ ]*\).*/\1/p' <<<"$line")
  export DEV_API DEV_KEY
}

stop_dev_server() {
  kill -TERM "$DEV_PID" 2>/dev/null || true
  wait "$DEV_PID" 2>/dev/null || true
  sqlx database drop -y --database-url "$DEV_DATABASE" >/dev/null 2>&1 || true
  rm -rf "$DEV_WORK"
}
