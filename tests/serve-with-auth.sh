# Sourced by tests/schemathesis/run and tests/browser/run: start the debug
# `switchyard serve` on the e-commerce example with auth on and a fresh
# random admin key (nothing secret is committed). Sets `url`, `key`,
# `work` (a temp dir holding the config and the server's logs) and
# `server` (its pid); the caller's EXIT trap calls stop_server.
# Needs `python` (any Python 3) and the repository root as the cwd.

stop_server() {
  if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; fi
  if [ -n "${work:-}" ]; then rm -rf "$work"; fi
}

serve_with_auth() {
  local root jwt_secret key_hash
  root="$(pwd)"
  work="$(mktemp -d)"
  key="$("$python" -c 'import secrets; print(secrets.token_urlsafe(32))')"
  jwt_secret="$("$python" -c 'import secrets; print(secrets.token_urlsafe(48))')"
  key_hash="$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
  cat > "$work/auth.toml" <<AUTH
[settings]
jwt_secret = "$jwt_secret"

[[api_keys]]
name = "test-admin"
key_hash = "$key_hash"
role = "admin"
grants = [{ tenants = ["*"], namespaces = ["*"], providers = ["*"], actions = ["*"] }]
AUTH
  # The example's configuration, pointed at its rules, with auth on.
  sed -e "s|^directory = \".\"|directory = \"$root/rules/ecommerce\"|" \
    rules/ecommerce/gateway.toml > "$work/gateway.toml"
  printf '\n[auth]\nenabled = true\nconfig_path = "auth.toml"\n' >> "$work/gateway.toml"
  target/debug/switchyard --log-format json serve --config "$work/gateway.toml" --port 0 \
    > "$work/server.out" 2> "$work/server.err" &
  server=$!
  url=""
  for _ in $(seq 1 100); do
    url="$(sed -n 's/^Listening on //p' "$work/server.out" | head -n 1)"
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "switchyard serve did not start:" >&2
  cat "$work/server.err" >&2
  return 1
}
