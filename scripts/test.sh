#!/usr/bin/env bash
# `npm test`: the whole suite on a fresh Debian machine. It needs Debian's PostgreSQL 15 (tests run on it
# and on the embedded PostgreSQL 18), ffmpeg, and Chromium (the browser tests in test/e2e drive
# /usr/bin/chromium); as root it installs what is missing, otherwise it prints the command and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client-15)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
[ -x /usr/bin/chromium ] || need+=(chromium)
# DejaVu Sans: the render draws text overlays with it (src/server/media/render.ts)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "npm test: installing ${need[*]} with apt-get"
    # No cluster of its own: the tests start throwaway servers.
    cluster_conf=/etc/postgresql-common/createcluster.conf
    mkdir -p "$(dirname "$cluster_conf")"
    [ -f "$cluster_conf" ] || echo 'create_main_cluster = false' > "$cluster_conf"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "npm test needs Debian packages that are missing. Install them with:"
    echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}"
    exit 1
  fi
fi

# Everything temporary (throwaway PostgreSQL servers, test data) lives under one directory that is
# cleaned up afterwards, pass or fail, even if a test process was killed before its teardown ran.
run_tmp=$(mktemp -d /tmp/recorder-test.XXXXXX)
chmod 755 "$run_tmp"
export TMPDIR="$run_tmp"
cleanup() {
  for pidfile in $(find "$run_tmp" -name postmaster.pid 2>/dev/null); do
    pid=$(head -1 "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null || true
  done
  rm -rf "$run_tmp"
}
trap cleanup EXIT

echo "== typecheck"
npx tsc --noEmit && npx tsc -p tsconfig.web.json --noEmit

echo "== lint (biome, line length)"
npm run lint

echo "== squawk (migration lint)"
bash scripts/lint-migrations.sh

echo "== vitest (embedded PostgreSQL 18 and Debian PostgreSQL 15; browser tests in Chromium)"
# Screenshots of the e2e run land in test-results/ too; a fresh run starts without old ones.
mkdir -p test-results
rm -rf test-results/e2e
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-results/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
