#!/usr/bin/env bash
# Optional tools of the end-to-end tests, installed when missing: Python's aiosmtpd (a loopback
# SMTP server for tests/login_mail.rs), Debian's chromium and chromium-driver (every page flow in
# a real browser, tests/browser_flows.rs), and npm's oidc-provider (an independent OpenID provider that
# tests/providers_login.rs signs in through, kept under target/test-tools). Failure is
# tolerated: those tests print "skipped: ..." without them.
set -uo pipefail

if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "installing aiosmtpd (PyPI)"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet aiosmtpd || echo "warning: aiosmtpd could not be installed; the SMTP test will be skipped"
fi

# The browser tests (tests/browser_flows.rs) drive Chromium through chromedriver; the https one
# makes a throw-away certificate with the openssl command. Under CI (CI set) those tests fail
# rather than skip when the browser is missing.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || echo "warning: ${missing[*]} could not be installed; the browser tests will be skipped"
fi
op_dir="$(dirname "$0")/../target/test-tools/oidc-provider"
if [ ! -f "$op_dir/node_modules/oidc-provider/lib/index.js" ]; then
  echo "installing oidc-provider (npm)"
  { command -v npm >/dev/null && mkdir -p "$op_dir" \
      && npm install --silent --no-audit --no-fund --prefix "$op_dir" oidc-provider@9; } \
    || echo "warning: oidc-provider could not be installed; the interop test will be skipped"
fi
exit 0
