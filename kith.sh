#!/usr/bin/env bash
# Kith's two set-up commands, for a fresh Debian 12 machine (as root or with sudo):
#
#   ./kith.sh run    install what is missing, build, and start Kith
#   ./kith.sh test   install what is missing, then run the whole test suite
#   ./kith.sh package  the release .deb (packaging/deb/build.sh), lintian clean
#
# What gets installed (only when missing):
#   - Debian packages: build-essential, pkg-config, curl, ca-certificates
#     (a C compiler and make build the bundled libsodium); for the app and
#     the .deb, WebKitGTK's -dev packages, dpkg-dev, lintian and
#     desktop-file-utils, among others listed below
#   - Rust 1.95.0 with rustfmt and clippy, through rustup, if `cargo` is absent
#
# Builds go to $CARGO_TARGET_DIR (default: ~/.cache/kith/target), outside the
# checkout, so repeated runs and CI reuse them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kith/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One-shot builds (CI): incremental artifacts only cost disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
rust_version="$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'kith.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

# Debian packages this project needs, each checked by the command or file it
# provides, so a machine that already has the tool installs nothing.
apt_updated=0
need_package() { # need_package PACKAGE TEST...
  local package="$1"; shift
  if "$@" >/dev/null 2>&1; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "missing $package and no apt-get: install it by hand"
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  say "installing $package"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package"
}

ensure_system_packages() {
  need_package build-essential sh -c 'command -v cc && command -v make && command -v ar'
  need_package pkg-config command -v pkg-config
  need_package curl command -v curl
  need_package ca-certificates test -e /etc/ssl/certs/ca-certificates.crt
}

# What the desktop app (Tauri 2 on WebKitGTK) builds against, and what its
# end-to-end tests drive it with.
ensure_app_packages() {
  need_package libwebkit2gtk-4.1-dev pkg-config --exists webkit2gtk-4.1
  need_package libssl-dev pkg-config --exists openssl
  need_package libxdo-dev test -e /usr/include/xdo.h
  need_package libayatana-appindicator3-dev pkg-config --exists ayatana-appindicator3-0.1
  need_package librsvg2-dev pkg-config --exists librsvg-2.0
  need_package file command -v file
  need_package xvfb command -v Xvfb
  need_package webkit2gtk-driver command -v WebKitWebDriver
  need_package imagemagick command -v import
  # A session bus for the single-instance hand-over of deep links (the
  # end-to-end test starts its own), and xdg-mime to register kith: links.
  need_package dbus-daemon command -v dbus-daemon
  need_package dbus-bin command -v dbus-send
  need_package xdg-utils command -v xdg-mime
  # The Secret Service the end-to-end test keeps a profile's key in.
  need_package gnome-keyring command -v gnome-keyring-daemon
  # Emoji in names and messages render in colour (not as empty boxes), and
  # the end-to-end test's screenshots show them; CJK and Arabic glyphs too.
  need_package fonts-noto-color-emoji test -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
  need_package fonts-wqy-microhei test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
  need_package fonts-dejavu-core test -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
}

# What the .deb is built and checked with (packaging/deb/build.sh).
ensure_package_tools() {
  need_package dpkg-dev command -v dpkg-shlibdeps
  need_package binutils command -v strip
  need_package lintian command -v lintian
  # desktop-file-validate, and the MIME cache that registers kith: links.
  need_package desktop-file-utils command -v desktop-file-validate
}

# Lintian on the .deb $1: no error and no warning (information notes,
# such as Rust binaries not using fortified libc functions, are allowed).
lint_deb() {
  local report
  report="$(lintian --fail-on none "$1" 2>&1 | grep -v 'running with root privileges' || true)"
  if printf '%s\n' "$report" | grep -q '^[EW]: '; then
    printf '%s\n' "$report" >&2
    die "lintian found errors or warnings in $1"
  fi
  say "lintian: no errors, no warnings"
}

# The debug .deb, built from the binaries the end-to-end test made: lintian
# clean; when root, installed, checked (kith runs, the desktop entry is
# valid and registers every link scheme the app declares), and removed.
deb_test() {
  say "the .deb (debug build): packaged and checked"
  local deb
  deb="$(bash packaging/deb/build.sh debug)"
  lint_deb "$deb"
  local status=0
  if [ "$(id -u)" -eq 0 ]; then
    deb_install_test "$deb" || status=$?
  else
    say "not root: the .deb install test is skipped"
  fi
  record_test deb "$status" "the .deb install test failed"
}

# One line in cargo's form for a test run outside cargo (so the closing
# line counts it); stops the run when it failed.
record_test() { # record_test NAME STATUS MESSAGE
  if [ "$2" -eq 0 ]; then
    echo "test result: $1. 1 passed; 0 failed; 0 ignored" | tee -a "$log"
  else
    echo "test result: $1. 0 passed; 1 failed; 0 ignored" | tee -a "$log"
    summarise_tests "$log" "$ran_ignored"
    die "$3"
  fi
}

deb_install_test() {
  local deb="$1" schemes scheme handler xdg
  if dpkg-query -W -f='${Status}' kith 2>/dev/null | grep -q 'install ok installed'; then
    say "a kith package is already installed here: the install test is skipped"
    return 0
  fi
  DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >&2 || return 1
  (
    set -e
    /usr/bin/kith --version | grep -q "^kith "
    desktop-file-validate /usr/share/applications/kith-app.desktop
    man -w kith kith-app kith-daemon >/dev/null 2>&1 || test -e /usr/share/man/man1/kith.1.gz
    schemes="$(node -e 'const c=require("./src-tauri/tauri.conf.json"); console.log(c.plugins["deep-link"].desktop.schemes.join(" "))')"
    xdg="$(mktemp -d)"
    for scheme in $schemes; do
      handler="$(XDG_CONFIG_HOME="$xdg" XDG_DATA_HOME="$xdg" XDG_DATA_DIRS=/usr/share \
        XDG_CURRENT_DESKTOP= DE= xdg-mime query default "x-scheme-handler/$scheme")"
      [ "$handler" = kith-app.desktop ] || {
        echo "x-scheme-handler/$scheme opens '$handler', not kith-app.desktop" >&2
        exit 1
      }
    done
    rm -rf "$xdg"
  ) >&2
  local checked=$?
  DEBIAN_FRONTEND=noninteractive dpkg -r kith >&2 || return 1
  [ ! -e /usr/bin/kith ] || { echo "dpkg -r left /usr/bin/kith" >&2; return 1; }
  return "$checked"
}

# Node.js >= 20.19 for the UI build (Vite 8). Debian 12's own nodejs is 18:
# then Node 20 comes from the npm registry's `node` package into the cache.
node_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; }
ensure_node() {
  local prefix="$HOME/.cache/kith/node"
  [ -x "$prefix/node_modules/.bin/node" ] && export PATH="$prefix/node_modules/.bin:$PATH"
  if node_ok; then return 0; fi
  need_package nodejs command -v node
  need_package npm command -v npm
  if ! node_ok; then
    say "installing Node.js 20 from the npm registry into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund node@20.20.2 >&2
    export PATH="$prefix/node_modules/.bin:$PATH"
  fi
  node_ok || die "Node.js >= 20.19 is needed for the UI build"
}

# The UI's npm packages (exactly as package-lock.json says) and its build,
# which the app embeds.
build_ui() {
  ensure_node
  say "UI: npm ci and build"
  (cd ui && npm ci --no-audit --no-fund && npm run build) >&2
}

ensure_rust() {
  [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v cargo >/dev/null 2>&1; then
    say "installing Rust $rust_version with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
      sh -s -- -y --profile minimal --default-toolchain "$rust_version" -c rustfmt -c clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  # rust-toolchain.toml pins $rust_version. A machine whose `stable` already
  # is that version gets it linked instead of downloaded (works offline).
  if command -v rustup >/dev/null 2>&1 && ! rustup toolchain list | grep -q "^$rust_version"; then
    local stable_sysroot
    stable_sysroot="$(rustup run stable rustc --print sysroot 2>/dev/null || true)"
    if [ -n "$stable_sysroot" ] && rustup run stable rustc --version | grep -q " $rust_version "; then
      rustup toolchain link "$rust_version" "$stable_sysroot"
    else
      rustup toolchain install "$rust_version" --profile minimal -c rustfmt -c clippy
    fi
  fi
  cargo --version >&2
}

# Sums the `test result:` lines of cargo test into one closing line.
summarise_tests() {
  awk '/^test result:/ {
         for (i = 1; i <= NF; i++) {
           if ($(i) ~ /^passed;?$/)  p += $(i-1)
           if ($(i) ~ /^failed;?$/)  f += $(i-1)
           if ($(i) ~ /^ignored;?$/) s += $(i-1)
         }
       }
       END { s -= adjust; printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' \
    adjust="${2:-0}" "$1"
}

# Builds the cargo-fuzz targets with libFuzzer's coverage instrumentation
# (stable flags; `cargo +nightly fuzz run` adds sanitizers) and runs each for
# a short smoke time on a fresh corpus.
fuzz_smoke() {
  local host seconds="${KITH_FUZZ_SECONDS:-10}" target
  host="$(rustc -vV | sed -n 's/^host: //p')"
  say "fuzz targets: build and ${seconds} s smoke run each"
  RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
    cargo build --release --locked -q --manifest-path fuzz/Cargo.toml --target "$host" \
      --target-dir "$CARGO_TARGET_DIR/fuzz"
  for target in $(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^kith-fuzz$'); do
    local corpus log status=0
    corpus="$(mktemp -d)"
    log="$(mktemp)"
    "$CARGO_TARGET_DIR/fuzz/$host/release/$target" -max_total_time="$seconds" \
      "$corpus" >"$log" 2>&1 || status=$?
    printf '%s: ' "$target" >&2
    grep -E '^Done' "$log" >&2 || true
    if [ "$status" -ne 0 ]; then
      tail -40 "$log" >&2
      die "fuzz target $target failed"
    fi
    rm -rf "$corpus" "$log"
  done
}

# The real app under Xvfb, driven through tauri-driver + WebKitWebDriver:
# two instances on loopback (ui/e2e/run.mjs). Screenshots of every screen
# go to $CARGO_TARGET_DIR/e2e/.
app_e2e() {
  if ! command -v tauri-driver >/dev/null 2>&1; then
    say "installing tauri-driver 2 (cargo install)"
    cargo install tauri-driver --version ^2 --locked >&2
  fi
  say "app end-to-end test (Xvfb, tauri-driver)"
  cargo build --locked -p kith-cli >&2
  cargo build --locked -p kith-app --features custom-protocol --bin kith-app --example blank \
    --example fake-notifications >&2
  local e2e_status=0
  (cd ui && KITH_E2E_SHOTS="$CARGO_TARGET_DIR/e2e" \
    node e2e/run.mjs "$CARGO_TARGET_DIR/debug/kith-app" "$CARGO_TARGET_DIR/debug/kith") >&2 ||
    e2e_status=$?
  record_test e2e "$e2e_status" "the app end-to-end test failed"
}

cmd_test() {
  ensure_system_packages
  ensure_app_packages
  ensure_package_tools
  ensure_rust
  local log started
  log="$(mktemp)"
  started=$SECONDS
  build_ui
  say "cargo fmt --check"
  cargo fmt --all --check
  say "cargo clippy (-D warnings)"
  cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
  say "cargo test"
  local status=0
  cargo test --workspace --all-features --locked 2>&1 | tee "$log" || status=$?
  if [ "$status" -ne 0 ]; then
    summarise_tests "$log"
    die "cargo test failed"
  fi
  # The tests in network namespaces (a partition, a LAN found by mDNS) need
  # root; run them when namespaces work.
  local ran_ignored=0
  if command -v ip >/dev/null && ip netns add "kith-probe-$$" 2>/dev/null; then
    ip netns del "kith-probe-$$"
    # The relay test runs the iroh project's own relay server.
    if ! command -v iroh-relay >/dev/null 2>&1; then
      say "installing iroh-relay 1.4.1 (cargo install, for the relay test)"
      cargo install iroh-relay --version 1.4.1 --features server --locked >&2
    fi
    say "tests in network namespaces (partition, LAN with mDNS, moves, relay)"
    local netns_log
    netns_log="$(mktemp)"
    cargo test -p kith-cli --locked --test kith-cli -- --ignored --test-threads 1 \
      2>&1 | tee "$netns_log" || status=$?
    cat "$netns_log" >>"$log"
    # Counted as skipped in the full run above; they ran now.
    ran_ignored="$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^passed;?$/) p += $(i-1) }
                       END { print p + 0 }' "$netns_log")"
    rm -f "$netns_log"
    if [ "$status" -ne 0 ]; then
      summarise_tests "$log" "$ran_ignored"
      die "a test in network namespaces failed"
    fi
  else
    say "no network namespaces here (not root?): the partition and LAN tests stay skipped"
  fi
  say "UI unit tests (Vitest)"
  local ui_report
  ui_report="$(mktemp)"
  (cd ui && npx vitest run --reporter=default --reporter=json --outputFile="$ui_report") >&2 ||
    status=$?
  # In the same form as cargo's, so the closing line counts them.
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`test result: ui. ${r.numPassedTests} passed; ${r.numFailedTests} failed; ${r.numPendingTests} ignored`)' \
    "$ui_report" | tee -a "$log"
  rm -f "$ui_report"
  if [ "$status" -ne 0 ]; then
    summarise_tests "$log" "$ran_ignored"
    die "the UI unit tests failed"
  fi
  app_e2e
  deb_test
  fuzz_smoke
  say "benchmarks, quick mode (proves they run; no timing is asserted)"
  cargo run --release --locked -q -p kith-bench -- --quick b0
  cargo run --release --locked -q -p kith-bench -- --quick sessions
  cargo run --release --locked -q -p kith-bench -- --quick b1
  cargo run --release --locked -q -p kith-bench -- --quick b2
  cargo run --release --locked -q -p kith-bench -- --quick b4
  cargo run --release --locked -q -p kith-bench -- --quick b3
  cargo run --release --locked -q -p kith-bench -- --quick b5
  cargo run --release --locked -q -p kith-bench -- --quick b6
  # B9 with the debug app the end-to-end test built (the full run wants
  # release builds: see docs/benchmarks.md).
  cargo run --release --locked -q -p kith-bench -- --quick b9 \
    --app "$CARGO_TARGET_DIR/debug/kith-app" --blank "$CARGO_TARGET_DIR/debug/examples/blank"
  say "done in $((SECONDS - started)) s"
  summarise_tests "$log" "$ran_ignored"
  rm -f "$log"
}

# The release binaries: the kith command-line node and the app.
build_release() {
  build_ui
  say "building the kith command-line node and the app"
  cargo build --release --locked -p kith-cli
  (cd ui && TAURI_APP_PATH="$PWD/../src-tauri" npx tauri build --no-bundle -- --locked) >&2
}

cmd_run() {
  ensure_system_packages
  ensure_app_packages
  ensure_rust
  build_release
  say "starting Kith (the command-line node is $CARGO_TARGET_DIR/release/kith)"
  "$CARGO_TARGET_DIR/release/kith-app" "$@"
}

# The release .deb: ./kith.sh package (packaging/deb/build.sh), lintian clean.
cmd_package() {
  ensure_system_packages
  ensure_app_packages
  ensure_package_tools
  ensure_rust
  build_release
  local deb
  deb="$(bash packaging/deb/build.sh release)"
  lint_deb "$deb"
  say "built $deb"
  echo "$deb"
}

case "${1:-}" in
  run) shift; cmd_run "$@" ;;
  test) shift; cmd_test "$@" ;;
  package) shift; cmd_package "$@" ;;
  *) echo "usage: ./kith.sh run | ./kith.sh test | ./kith.sh package" >&2; exit 2 ;;
esac
