#!/usr/bin/env bash
# Installs the packages sqlgate's tests, benchmarks and lab run against, if
# any is missing. Idempotent: does nothing when everything is there.
#
#   scripts/deps.sh       everything `make test` and `make bench` need
#   scripts/deps.sh lab   what `make lab` needs
# keepalived and iproute2 (the VIP failover tests, the lab's network
# namespaces) are only needed as root: without root neither can be used;
# nor can systemd-analyze and logrotate (the .deb install test). chromium
# (the dashboard test, which skips itself without it outside CI) is
# installed only as root too.
set -euo pipefail
mode=${1:-all}
case $mode in all | lab) ;; *)
	echo "usage: $0 [lab]" >&2
	exit 2
	;;
esac
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
need=()
have mariadbd || need+=(mariadb-server)
have mariadb || need+=(mariadb-client)
if [ "$(id -u)" = 0 ]; then
	have keepalived || need+=(keepalived)
	have ip || need+=(iproute2)
fi
if [ "$mode" = all ]; then
	have sysbench || need+=(sysbench)
	have haproxy || need+=(haproxy)
	/usr/bin/python3 -c 'import MySQLdb' >/dev/null 2>&1 || need+=(python3-mysqldb) # a libmariadb client
	if [ "$(id -u)" = 0 ]; then # the .deb install test (packaging/): unit check, log rotation
		have systemd-analyze || need+=(systemd)
		have logrotate || need+=(logrotate)
		# The dashboard test drives a headless Chromium; without root it
		# skips itself when chromium is missing (and fails under CI).
		have chromium || need+=(chromium)
	fi
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
	exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
