# Shared by scripts/run.sh and scripts/test.sh: say what happens, install what is missing.
# Sourced, not run. Everything installed lands in ~/.cargo/bin or $AUDITORIUM_TOOLS.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION="0.3.10"
BINARYEN_VERSION="132.0.0"
AUDITORIUM_TOOLS="${AUDITORIUM_TOOLS:-$HOME/.cache/auditorium/tools}"
export PATH="$HOME/.cargo/bin:$AUDITORIUM_TOOLS/node_modules/.bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/auditorium"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $* (install it yourself, or run as root)"; fi
}

apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* automatically here (no apt-get); install it by hand"
  note "installing Debian packages: $*"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; then
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
  fi
}

lock_version() { # version of a crate in Cargo.lock
  awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

have_pg_server() {
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

# Everything needed to build and run: Rust wasm target, cargo-leptos, wasm-bindgen, wasm-opt,
# PostgreSQL server programs.
setup_build_tools() {
  step "Checking build tools"
  command -v cargo >/dev/null || die "Rust is not installed: see https://rustup.rs"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    note "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >/dev/null
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    note "installing cargo-leptos $CARGO_LEPTOS_VERSION (compiles once; 10-30 minutes)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --quiet
  fi
  local wbg; wbg="$(lock_version wasm-bindgen)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
    note "installing wasm-bindgen-cli $wbg (matches Cargo.lock; a few minutes)"
    cargo install wasm-bindgen-cli --version "$wbg" --quiet
  fi
  if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_VERSION%%.*}" ]; then
    note "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    mkdir -p "$AUDITORIUM_TOOLS"
    [ -f "$AUDITORIUM_TOOLS/package.json" ] || echo '{"name":"auditorium-tools","private":true}' > "$AUDITORIUM_TOOLS/package.json"
    npm install --prefix "$AUDITORIUM_TOOLS" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
  if [ -z "${DATABASE_URL:-}" ] && ! have_pg_server; then
    note "PostgreSQL server programs are missing"
    apt_install postgresql
  fi
  note "rustc $(rustc --version | awk '{print $2}'), cargo-leptos $(cargo leptos --version | awk '{print $2}'), wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), wasm-opt $(wasm-opt --version | awk '{print $3}')"
}

build_release() {
  step "Building Auditorium (release: server + WebAssembly)"
  cargo leptos build --release || die "the build failed"
  [ -x "$BIN" ] || die "the build did not produce $BIN"
}
