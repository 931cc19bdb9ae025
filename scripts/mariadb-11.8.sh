#!/usr/bin/env bash
# MariaDB 11.8 for the integration tests, without touching the system: a Debian 13 (trixie) tree made
# with debootstrap from the system's own Debian mirror, plus wrappers that run its programs with the
# tree's own dynamic loader and libraries. Built once into a fixed place outside the clone (default
# /var/cache/dbps-mariadb-11.8, or $DBPS_MARIADB_118_CACHE) and rebuilt only when missing or broken.
# Prints the wrapper directory (for DBPS_MARIADB_BINDIR) on stdout; progress goes to stderr.
set -euo pipefail

CACHE="${DBPS_MARIADB_118_CACHE:-/var/cache/dbps-mariadb-11.8}"
BIN="$CACHE/bin"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

log() { echo "mariadb-11.8: $*" >&2; }

# The cache is good when every wrapper runs and mariadbd reports 11.8.
healthy() {
  local b
  for b in mariadbd mariadb-install-db mariadb mariadb-binlog mariadb-backup my_print_defaults resolveip; do
    [ -x "$BIN/$b" ] || return 1
  done
  [ -x "$CACHE/basedir/sbin/mariadbd" ] && [ -d "$CACHE/basedir/share/mariadb" ] || return 1
  "$BIN/mariadbd" --version 2>/dev/null | grep -q ' 11\.8\.' || return 1
  "$BIN/mariadb-backup" --version 2>&1 | grep -q '11\.8\.' || return 1
  "$BIN/mariadb" --version >/dev/null 2>&1 || return 1
}

# The system's own Debian mirror: the first non-security URI in /etc/apt/sources.list(.d).
mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '
      /^[[:space:]]*$/ { if (u != "" && s !~ /-security/) { print u; exit } u = ""; s = ""; next }
      /^URIs:/ { u = $2 } /^Suites:/ { s = $0 }
      END { if (u != "" && s !~ /-security/) print u }' "$f" | head -n1)
    case "$uri" in */debian | */debian/) echo "${uri%/}"; return 0 ;; esac
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 !~ /-security/ && $2 ~ /\/debian\/?$/ { print $2; exit }')
    [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
  done
  return 1
}

# The audit's CONNECT tests load ha_connect from the tree's own plugin directory.
PLUGIN="$CACHE/tree/usr/lib/mysql/plugin/ha_connect.so"
add_connect_plugin() {
  local tree=$1
  $SUDO chroot "$tree" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -qq --no-install-recommends \
    mariadb-plugin-connect >&2 ||
    { $SUDO chroot "$tree" apt-get update -qq >&2 &&
      $SUDO chroot "$tree" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -qq --no-install-recommends \
        mariadb-plugin-connect >&2; }
  $SUDO chroot "$tree" apt-get clean >&2
}

if healthy; then
  # A tree cached before the plugin was part of it gets it added in place.
  if [ ! -e "$PLUGIN" ]; then
    log "adding mariadb-plugin-connect to the cached tree"
    add_connect_plugin "$CACHE/tree" || { log "installing mariadb-plugin-connect into $CACHE/tree failed"; exit 1; }
  fi
  echo "$BIN"
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || {
  log "installing debootstrap"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq debootstrap >&2
}
export PATH="$PATH:/usr/sbin:/sbin"

MIRROR=$(mirror) || { log "no Debian mirror found in /etc/apt/sources.list(.d); add one and run again"; exit 1; }
WORK="$CACHE.partial-$$"
TREE="$CACHE/tree"
log "building a trixie tree from $MIRROR in $WORK (a few minutes, about 70 MB downloaded)"
$SUDO rm -rf "$WORK"
$SUDO mkdir -p "$WORK"
trap '$SUDO rm -rf "$WORK"' EXIT
$SUDO debootstrap --variant=minbase trixie "$WORK/tree" "$MIRROR" >&2
# Packages must not start services inside the tree.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$WORK/tree/usr/sbin/policy-rc.d" >/dev/null
$SUDO chmod 755 "$WORK/tree/usr/sbin/policy-rc.d"
$SUDO chroot "$WORK/tree" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -qq --no-install-recommends \
  mariadb-server mariadb-client mariadb-backup mariadb-plugin-connect >&2
$SUDO chroot "$WORK/tree" apt-get clean >&2

# Wrappers: the tree's loader and libraries. Paths point at the final place ($CACHE), not $WORK.
$SUDO mkdir -p "$WORK/bin" "$WORK/basedir"
wrap() { # name, binary inside the tree, extra leading options
  local name=$1 binary=$2 extra=${3:-}
  $SUDO tee "$WORK/bin/$name" >/dev/null <<EOF
#!/bin/sh
# MariaDB 11.8's $name from the Debian 13 tree in $TREE (made by scripts/mariadb-11.8.sh).
first=""
case "\${1:-}" in --no-defaults|--defaults-file=*|--defaults-extra-file=*|--print-defaults) first=\$1; shift ;; esac
exec "$TREE/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TREE/usr/lib/x86_64-linux-gnu:$TREE/usr/lib" \\
  "$TREE$binary" \${first:+"\$first"} $extra "\$@"
EOF
  $SUDO chmod 755 "$WORK/bin/$name"
}
plugins=$(cd "$WORK/tree" && ls -d usr/lib/mysql/plugin 2>/dev/null || true)
wrap mariadbd /usr/sbin/mariadbd "--basedir=$TREE/usr${plugins:+ --plugin-dir=$TREE/$plugins}"
wrap mariadb /usr/bin/mariadb
wrap mariadb-binlog /usr/bin/mariadb-binlog
wrap mariadb-backup /usr/bin/mariadb-backup
wrap my_print_defaults /usr/bin/my_print_defaults
wrap mariadb-dump /usr/bin/mariadb-dump
wrap resolveip /usr/bin/resolveip
# mariadb-install-db is a shell script: it finds my_print_defaults in <basedir>/bin, mariadbd in
# <basedir>/sbin and its SQL in <basedir>/share, so its basedir holds links to the wrappers and the tree.
$SUDO ln -s "$BIN" "$WORK/basedir/bin"
$SUDO ln -s "$BIN" "$WORK/basedir/sbin"
$SUDO ln -s "$TREE/usr/share" "$WORK/basedir/share"
$SUDO ln -s "$TREE/usr/lib" "$WORK/basedir/lib"
$SUDO tee "$WORK/bin/mariadb-install-db" >/dev/null <<EOF
#!/bin/sh
# MariaDB 11.8's mariadb-install-db from the Debian 13 tree in $TREE (made by scripts/mariadb-11.8.sh).
first=""
case "\${1:-}" in --no-defaults|--defaults-file=*|--defaults-extra-file=*) first=\$1; shift ;; esac
exec /bin/sh "$TREE/usr/bin/mariadb-install-db" \${first:+"\$first"} --basedir="$CACHE/basedir" "\$@"
EOF
$SUDO chmod 755 "$WORK/bin/mariadb-install-db"

$SUDO rm -rf "$CACHE"
$SUDO mv "$WORK/tree" "$WORK/tree.tmp"
$SUDO mkdir -p "$CACHE"
$SUDO mv "$WORK/tree.tmp" "$TREE"
$SUDO mv "$WORK/bin" "$BIN"
$SUDO mv "$WORK/basedir" "$CACHE/basedir"
healthy || { log "the tree in $CACHE was built but its mariadbd does not run; remove $CACHE and run again"; exit 1; }
log "ready: $("$BIN/mariadbd" --version)"
echo "$BIN"
