#!/usr/bin/env bash
# Builds the sqlgate .deb with dpkg-deb (no debhelper needed):
#
#   packaging/build-deb.sh OUTDIR VERSION     (make deb: bin/, git describe)
#
# and prints the path of OUTDIR/sqlgate_<debversion>_<arch>.deb. VERSION is
# the Makefile's (git describe --tags --always --dirty); a Debian version
# must start with a digit, so:
#   v1.2.0               -> 1.2.0
#   v1.2.0-3-gabc1234    -> 1.2.0+3.gabc1234
#   6da9ce1-dirty        -> 0.0~git6da9ce1.dirty   (no tag yet: sorts below 0.0)
# The binary is built with CGO_ENABLED=0 (pure Go, SQLite included), so the
# package depends on no shared library.
# `build-deb.sh -debversion VERSION` prints only the mapped version.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OUTDIR VERSION" >&2; exit 2; }
out=$1 version=$2
GO=${GO:-go}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

debversion() {
	local v=${1#v}
	if [[ $v =~ ^[0-9]+(\.[0-9]+)+ ]]; then
		local base=${v%%-*}
		if [ "$base" != "$v" ]; then
			local rest=${v#*-}
			v="$base+${rest//-/.}"
		fi
	else
		v="0.0~git${1//-/.}"
	fi
	if ! [[ $v =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
		echo "$0: cannot make a Debian version of '$1' (got '$v')" >&2
		exit 1
	fi
	echo "$v"
}
debver=$(debversion "$version")
if [ "$out" = -debversion ]; then
	echo "$debver"
	exit 0
fi

goarch=$("$GO" env GOARCH)
case $goarch in
amd64 | arm64 | riscv64 | ppc64el | s390x | mips64el) arch=$goarch ;;
386) arch=i386 ;;
arm) arch=armhf ;;
ppc64le) arch=ppc64el ;;
*) echo "$0: no Debian architecture for GOARCH=$goarch" >&2; exit 1 ;;
esac

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"

install -d -m 0755 "$root"/usr/bin "$root"/usr/lib/systemd/system \
	"$root"/usr/share/man/man8 "$root"/usr/share/doc/sqlgate/examples \
	"$root"/etc/sqlgate "$root"/etc/default "$root"/etc/logrotate.d "$root"/DEBIAN
(cd "$top" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-X main.version=$version" \
	-o "$root/usr/bin/sqlgate" ./cmd/sqlgate)
chmod 0755 "$root/usr/bin/sqlgate"

# The man page comes from the flags of the binary just built.
date=$(git -C "$top" log -1 --format=%cs 2>/dev/null || date -u +%F)
(cd "$top" && "$GO" run ./packaging/mangen -sqlgate "$root/usr/bin/sqlgate" \
	-installed /usr/bin/sqlgate -version "$version" -date "$date") | gzip -9n >"$root/usr/share/man/man8/sqlgate.8.gz"
chmod 0644 "$root/usr/share/man/man8/sqlgate.8.gz"

install -m 0644 "$here/sqlgate.service" "$here/sqlgate-initial.service" "$root/usr/lib/systemd/system/"
install -m 0644 "$top/examples/single.cnf" "$root/etc/sqlgate/proxysql.cnf"
install -m 0644 "$here/sqlgate.default" "$root/etc/default/sqlgate"
install -m 0644 "$here/sqlgate.logrotate" "$root/etc/logrotate.d/sqlgate"
install -m 0644 "$top"/examples/*.cnf "$root/usr/share/doc/sqlgate/examples/"

# /var/lib/sqlgate is made by postinst (owned by sqlgate), not shipped:
# dpkg would otherwise try to remove a directory full of data on remove.
install -m 0755 "$here"/debian/postinst "$here"/debian/prerm "$here"/debian/postrm "$root/DEBIAN/"
install -m 0644 "$here/debian/conffiles" "$root/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$debver/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	"$here/debian/control.in" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum | grep -v ' etc/') >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/sqlgate_${debver}_${arch}.deb"
dpkg-deb --build --root-owner-group "$root" "$deb" >/dev/null
echo "$deb"
