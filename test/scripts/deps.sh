#!/usr/bin/env bash
# deps.sh [PROFILE...]: installs the Debian packages a task needs (default: test).
#   demo     build and run the extension: server, headers, make, gcc (make demo)
#   core     demo plus what make installcheck and make prove_installcheck use:
#            pgTAP, pg_prove, IPC::Run, PgBouncer, the Prometheus exporter and curl
#            (the TAP tests that need them); make matrix installs it in each root
#            filesystem
#   test     core plus everything else make test and make bench use: sqlsmith,
#            Python with psycopg, Java with JDBC, Jython, Prometheus,
#            pg_auto_failover (make test, make deps)
#   package  building the Debian package: debhelper, lintian, dpkg-dev, fakeroot
#   matrix   make matrix on the host: debootstrap, which makes the root filesystems
#            of the other Debian suites
# The PostgreSQL packages are those of the major version PG_MAJOR (default 15).
# Quiet when everything is present. As root, installs what is missing; otherwise
# prints the apt-get command to run and exits 1.
set -euo pipefail

major=${PG_MAJOR:-15}
demo=(
	"postgresql-$major"
	"postgresql-client-$major"
	"postgresql-server-dev-$major"
	make
	gcc
)
core=(
	"${demo[@]}"
	"postgresql-$major-pgtap"
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	pgbouncer
	prometheus-postgres-exporter
	curl
)
test=(
	"${core[@]}"
	sqlsmith
	python3
	python3-psycopg
	python3-psycopg-pool
	python3-pytest
	python3-venv
	python3-pip
	python3-setuptools
	python3-wheel
	default-jdk-headless
	libpostgresql-jdbc-java
	jython
	prometheus
	python3-yaml
	"postgresql-$major-auto-failover"
	pg-auto-failover-cli
)
package=(
	"${demo[@]}"
	debhelper
	lintian
	postgresql-server-dev-all
	dpkg-dev
	fakeroot
	git
	"postgresql-$major-pgtap"
)
matrix=(
	debootstrap
	debian-archive-keyring
)

packages=()
for profile in "${@:-test}"; do
	case $profile in
		demo) packages+=("${demo[@]}") ;;
		core) packages+=("${core[@]}") ;;
		test) packages+=("${test[@]}") ;;
		package) packages+=("${package[@]}") ;;
		matrix) packages+=("${matrix[@]}") ;;
		*)
			echo "deps: unknown profile $profile (demo, core, test, package, matrix)" >&2
			exit 2
			;;
	esac
done

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	if [ "$status" != installed ] && [[ " ${missing[*]} " != *" $pkg "* ]]; then
		missing+=("$pkg")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: install them with:" >&2
	echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# another apt-get of this machine may hold the dpkg lock: wait for it
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" </dev/null
