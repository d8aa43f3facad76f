#!/usr/bin/env bash
# Provides what scripts/tcl-suite.py needs: tclsh, and Debian's source package
# of redis 7.0.15 with its tests/, fetched from the package registry and
# unpacked (Debian's patches applied) under DEST (default .deps/redis-source).
# Nothing of it is committed. The source version is the installed
# redis-server's own: Debian's security updates add tests along with their
# fixes, so a newer source's tests would fail against an older server. Prints
# the path of the unpacked tree on stdout; everything else goes to stderr.
#
# When apt's index lacks that source and no bookworm deb-src entry is
# configured, one is added for every bookworm mirror and suite apt already
# uses, in files of its own under /etc/apt/sources.list.d/
# (ferrodis-deb-src.sources / .list), and the index is updated. A tree unpacked once is reused (a marker file records that it
# was complete), so later runs cost nothing. Any failure exits non-zero with
# a message; nothing is skipped. Needs root for apt-get.
#
# Usage: scripts/tcl-deps.sh [DEST]
set -uo pipefail
cd "$(dirname "$0")/.."
exec 3>&1 1>&2
version=7.0.15
dest=${1:-$PWD/.deps/redis-source}
apt_opts=(-o DPkg::Lock::Timeout=600 -qq)

die() { echo "tcl-deps: $*" >&2; exit 1; }

# The Debian source version of the installed reference server, e.g. 5:7.0.15-1~deb12u7.
debian_version=$(dpkg-query -W -f='${source:Version}' redis-server 2>/dev/null) ||
  die "redis-server is not installed (apt-get install redis-server)"
case $debian_version in
  *:$version-*|$version-*) ;;
  *) die "the installed redis-server is $debian_version, not redis $version" ;;
esac
tree=$dest/redis-${debian_version#*:}
marker=$tree/.ferrodis-unpacked

# apt-get update, retried while another apt holds the lists lock.
apt_update() {
  local try
  for try in 1 2 3 4 5; do
    apt-get "${apt_opts[@]}" update && return 0
    sleep 15
  done
  return 1
}

# runtest looks for tclsh8.5, tclsh8.6 or tclsh8.7.
has_tclsh() { command -v tclsh8.6 || command -v tclsh8.7 || command -v tclsh8.5; } >/dev/null
if ! has_tclsh; then
  apt_update || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y tcl >/dev/null ||
    die "apt-get install tcl failed"
  has_tclsh || die "tcl installed but tclsh8.x is still missing"
fi

if [ -e "$marker" ]; then
  echo "$tree" >&3
  exit 0
fi

# The files apt reads its sources from (other names, such as *.disabled, it ignores).
source_files() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && echo "$f"
  done
}

# Prints the entries of one kind (deb or deb-src) for bookworm suites: one-line
# entries as they stand, deb822 stanzas without their Types field.
entries() {
  local kind=$1 f
  while read -r f; do
    case $f in
      *.sources)
        awk -v kind="$kind" 'BEGIN { RS = ""; FS = "\n" }
          {
            types = ""; suites = ""; enabled = "yes"; body = ""
            for (i = 1; i <= NF; i++) {
              line = $i
              if (line ~ /^[ \t]*#/) continue
              if (match(line, /^Types:[ \t]*/)) { types = " " substr(line, RLENGTH + 1) " "; continue }
              if (match(line, /^Suites:[ \t]*/)) suites = substr(line, RLENGTH + 1)
              if (match(line, /^Enabled:[ \t]*/)) enabled = substr(line, RLENGTH + 1)
              body = body line "\n"
            }
            if (enabled != "no" && index(types, " " kind " ") && suites ~ /(^| )bookworm/)
              printf "%s\n", body
          }' "$f"
        ;;
      *)
        awk -v kind="$kind" '$1 == kind && / bookworm/' "$f"
        ;;
    esac | sed "s|^|$f\t|"
  done < <(source_files)
}

# Whether apt's source index has that version (read whole: grep -q would cut
# the pipe, which pipefail reports as a failure).
has_source() { apt-cache showsrc redis 2>/dev/null | grep -Fx "Version: $debian_version" >/dev/null; }

# deb-src entries for the mirrors and suites of apt's bookworm deb entries,
# in files of our own.
add_deb_src() {
  local list=/etc/apt/sources.list.d/ferrodis-deb-src.list
  local sources=/etc/apt/sources.list.d/ferrodis-deb-src.sources f
  # deb822 stanzas: the same fields under Types: deb-src.
  entries deb | awk -F '\t' '$1 ~ /\.sources$/ {
      line = substr($0, length($1) + 2)
      if (line == "") { if (open) print ""; open = 0; next }
      if (!open) { print "Types: deb-src"; open = 1 }
      print line
    }' >"$sources.tmp" || die "cannot write $sources"
  # One-line entries: the same line with deb-src.
  entries deb | awk -F '\t' '$1 !~ /\.sources$/ {
      line = substr($0, length($1) + 2); sub(/^deb/, "deb-src", line); print line
    }' >"$list.tmp" || die "cannot write $list"
  [ -s "$sources.tmp" ] || [ -s "$list.tmp" ] ||
    die "apt has no bookworm 'deb' entry to add a deb-src entry for (see /etc/apt/sources.list*)"
  for f in "$sources" "$list"; do
    if [ -s "$f.tmp" ]; then mv "$f.tmp" "$f" && echo "added $f:" && cat "$f"; else rm -f "$f.tmp"; fi
  done
}

if ! has_source; then
  entries deb-src | grep . >/dev/null || add_deb_src
  apt_update || die "apt-get update failed"
  has_source ||
    die "apt knows no source of redis $debian_version, the installed redis-server's version" \
      "(deb-src entries in: $(entries deb-src | cut -f1 | sort -u | tr '\n' ' '));" \
      "if the archive has moved on, upgrade redis-server"
fi
if ! command -v dpkg-source >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y dpkg-dev >/dev/null ||
    die "apt-get install dpkg-dev (for dpkg-source) failed"
fi

download=$dest/download
rm -rf "$download" "$tree"
mkdir -p "$download" || die "cannot create $download"
(cd "$download" && apt-get "${apt_opts[@]}" source --download-only "redis=$debian_version") ||
  die "apt-get source --download-only redis=$debian_version failed"
dsc=$download/redis_${debian_version#*:}.dsc
[ -f "$dsc" ] || die "apt-get source did not leave $dsc"
dpkg-source -x "$dsc" "$tree" || die "dpkg-source -x $dsc failed"
grep -q "\"$version\"" "$tree/src/version.h" 2>/dev/null || die "$tree is not redis $version (src/version.h)"
for f in runtest tests/test_helper.tcl tests/unit/type/hash.tcl; do
  [ -e "$tree/$f" ] || die "$tree lacks $f"
done
# dpkg-source leaves a link to the .orig tarball beside the tree; the tree is all that is kept.
rm -rf "$download" "$dest"/redis_*.orig.tar.*
touch "$marker" || die "cannot write $marker"
echo "$tree" >&3
