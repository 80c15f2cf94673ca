#!/usr/bin/env bash
# The whole test run, as CI runs it: system packages the tests need, the database servers, then lint,
# typecheck, build, every test on SQLite and every database test again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive for real (openssl/mkpasswd/htpasswd cross-check imported password hashes;
# named, named-checkzone, rndc and dig serve and check the zones hostdeck writes; lexicon is a real DNS client).
PACKAGES=(openssl whois apache2-utils bind9 bind9-utils dnsutils lexicon)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test:all: installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bash scripts/ensure-services.sh

if [ ! -d node_modules ]; then npm install --no-audit --no-fund; fi
npm run lint
npm run typecheck
npm run build
echo "test:all: tests on SQLite"
npx vitest run
echo "test:all: database tests on PostgreSQL"
HOSTDECK_TEST_DB=postgres npx vitest run test/api test/cli test/services
