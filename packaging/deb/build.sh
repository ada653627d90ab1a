#!/usr/bin/env bash
# Builds the kith .deb from binaries already built:
#   packaging/deb/build.sh release|debug
# takes $CARGO_TARGET_DIR/<profile>/kith-app (built with the
# custom-protocol feature) and .../kith, and writes
# $CARGO_TARGET_DIR/<profile>/deb/kith_<version>_<arch>.deb, whose path it
# prints. Offline: dpkg-deb, dpkg-shlibdeps, strip, gzip and node only.
# KITH_MAINTAINER overrides the Maintainer field ("Name <address>").
set -euo pipefail
umask 022

profile="${1:?usage: build.sh release|debug}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/$profile"
for b in kith-app kith; do
  [ -x "$bin/$b" ] || { echo "build.sh: $bin/$b is not built" >&2; exit 1; }
done

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
arch="$(dpkg --print-architecture)"
maintainer="${KITH_MAINTAINER:-Kith maintainers <maintainers@kith-messenger.org>}"
out="$bin/deb"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/kith"
mkdir -p "$out"

dir() { install -d -m 755 "$stage/$1"; }
file() { dir "$(dirname "$2")"; install -m "${3:-644}" "$1" "$stage/$2"; }

# Binaries, stripped (a debug build too: the package never ships symbols).
for b in kith-app kith; do
  file "$bin/$b" "usr/bin/$b" 755
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/$b"
done

# Desktop entry (it registers the kith: and kith-link: links) and icons.
file "$here/kith.desktop" usr/share/applications/kith-app.desktop
for size in 32x32 128x128; do
  file "$root/icons/$size.png" "usr/share/icons/hicolor/$size/apps/kith-app.png"
done
file "$root/icons/128x128@2x.png" usr/share/icons/hicolor/256x256/apps/kith-app.png
file "$root/icons/icon.png" usr/share/icons/hicolor/512x512/apps/kith-app.png

# Man pages and completions, from the clap definitions.
"$bin/kith" generate-docs --out "$work/docs" >/dev/null
dir usr/share/man/man1
for page in "$work"/docs/man/*.1 "$here/kith-app.1"; do
  gzip -9n -c "$page" >"$stage/usr/share/man/man1/$(basename "$page").gz"
done
file "$work/docs/completions/kith.bash" usr/share/bash-completion/completions/kith
file "$work/docs/completions/_kith" usr/share/zsh/vendor-completions/_kith
file "$work/docs/completions/kith.fish" usr/share/fish/vendor_completions.d/kith.fish

# The always-on device: a systemd user unit, off until enabled.
file "$here/kith-daemon.service" usr/lib/systemd/user/kith-daemon.service

# Copyright (Kith's, libsodium's and every linked crate's) and changelog.
dir usr/share/doc/kith
{
  cat "$here/copyright.in"
  echo
  (cd "$root" && cargo metadata --locked --offline --format-version 1 \
    --filter-platform "$(rustc -vV | sed -n 's/^host: //p')") |
    node "$here/crate-licences.mjs"
} >"$stage/usr/share/doc/kith/copyright"
sed "s|^ -- .*>  | -- $maintainer  |" "$here/changelog" | gzip -9n >"$stage/usr/share/doc/kith/changelog.gz"

# Control: dependencies computed from the binaries.
mkdir -p "$work/src/debian"
printf 'Source: kith\n\nPackage: kith\nArchitecture: any\n' >"$work/src/debian/control"
depends="$(cd "$work/src" && dpkg-shlibdeps -O -e"$stage/usr/bin/kith-app" -e"$stage/usr/bin/kith" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')"
[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps computed no dependencies" >&2; exit 1; }
install -d -m 755 "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: kith
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Recommends: fonts-noto-color-emoji, gnome-keyring | kwalletmanager, gstreamer1.0-plugins-good
Section: net
Priority: optional
Description: peer-to-peer, end-to-end encrypted messenger
 Kith sends messages straight from your devices to your contacts'
 devices, end-to-end encrypted. No server holds accounts or messages;
 all of a person's devices share one history, and a lost device can be
 removed from any other.
 .
 This package holds the desktop app (kith-app) and the command-line
 node (kith), with a systemd user unit that keeps a device online.
CONTROL
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

deb="$out/kith_${version}_${arch}.deb"
# A debug package is only checked and thrown away: fast compression.
compression=(-Zxz)
[ "$profile" = release ] || compression=(-Zgzip -z1)
dpkg-deb --root-owner-group "${compression[@]}" --build "$stage" "$deb" >/dev/null
echo "$deb"
