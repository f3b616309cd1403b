#!/usr/bin/env bash
# Upgrade test: for every upgrade script sql/session--A--B.sql, and from every released
# version A (a kept sql/session--A.sql) to the current version B, in scratch databases,
#   CREATE EXTENSION session VERSION 'A'; ALTER EXTENSION session UPDATE TO 'B'
# must leave the same catalog contents as
#   CREATE EXTENSION session VERSION 'B'
# (functions with their definitions, privileges and comments; tables, views, sequences,
# columns, defaults, constraints, indexes, types; the extension's dump configuration).
#
# Needs a running server and a superuser: PGHOST, PGPORT, PGUSER from the environment
# (make test runs it in its throwaway cluster). The versions must be installed (make
# install): the upgrade scripts, and the install script of every A (keep the released
# sql/session--A.sql and list it in DATA).
#
#   test/upgrade/upgrade.sh                    check every upgrade script
#   test/upgrade/upgrade.sh --compare DB1 DB2  diff the extension in two databases
#
# Prints "upgrade: ..." lines; exits 1 when an upgrade differs from a fresh install.
set -euo pipefail

ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=pg_config
PSQL="$("$PG_CONFIG" --bindir)/psql"

psql_run() {
	PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"
}

# Prints the extension's catalog contents in database $1, one sorted line per fact.
catalog_dump() {
	psql_run -At -d "$1" <<-'SQL'
		WITH ext AS (SELECT * FROM pg_catalog.pg_extension WHERE extname = 'session'),
		member AS (
			SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
			WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid
			AND d.deptype = 'e'),
		rel AS (
			SELECT c.* FROM pg_catalog.pg_class c
			WHERE c.oid IN (SELECT m.objid FROM member m WHERE m.classid = 'pg_catalog.pg_class'::regclass)
			OR c.oid IN (SELECT t.typrelid FROM pg_catalog.pg_type t
						 JOIN member m ON m.classid = 'pg_catalog.pg_type'::regclass AND m.objid = t.oid))
		SELECT line FROM (
			SELECT format('extension %s relocatable=%s config=%s condition=%s', ext.extversion,
						  ext.extrelocatable,
						  (SELECT string_agg(c::regclass::text, ',' ORDER BY c::regclass::text)
						   FROM unnest(ext.extconfig) c),
						  ext.extcondition)
			FROM ext
			UNION ALL
			SELECT format('schema %s acl=%s comment=%s', n.nspname, n.nspacl,
						  obj_description(n.oid, 'pg_namespace'))
			FROM pg_catalog.pg_namespace n, ext WHERE n.oid = ext.extnamespace
			UNION ALL
			SELECT format('function %s acl=%s comment=%s def=%s', p.oid::regprocedure, p.proacl,
						  obj_description(p.oid, 'pg_proc'), pg_get_functiondef(p.oid))
			FROM pg_catalog.pg_proc p
			JOIN member m ON m.classid = 'pg_catalog.pg_proc'::regclass AND m.objid = p.oid
			UNION ALL
			SELECT format('relation %s kind=%s persistence=%s options=%s acl=%s comment=%s partkey=%s bound=%s view=%s',
						  c.oid::regclass, c.relkind, c.relpersistence, c.reloptions, c.relacl,
						  obj_description(c.oid, 'pg_class'), pg_get_partkeydef(c.oid),
						  pg_get_expr(c.relpartbound, c.oid),
						  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
			FROM rel c
			UNION ALL
			SELECT format('column %s #%s %s type=%s notnull=%s collation=%s default=%s identity=%s generated=%s acl=%s comment=%s',
						  c.oid::regclass, lpad((row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum))::text, 4, '0'), a.attname,
						  format_type(a.atttypid, a.atttypmod), a.attnotnull, co.collname,
						  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attacl,
						  col_description(c.oid, a.attnum))
			FROM rel c
			JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
			LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
			LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
			UNION ALL
			SELECT format('constraint %s %s %s', c.oid::regclass, k.conname, pg_get_constraintdef(k.oid))
			FROM rel c JOIN pg_catalog.pg_constraint k ON k.conrelid = c.oid
			UNION ALL
			SELECT format('index %s comment=%s', pg_get_indexdef(i.indexrelid),
						  obj_description(i.indexrelid, 'pg_class'))
			FROM rel c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
			UNION ALL
			SELECT format('trigger %s', pg_get_triggerdef(tg.oid))
			FROM rel c JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = c.oid AND NOT tg.tgisinternal
			UNION ALL
			SELECT format('policy %s %s', c.oid::regclass, pol.polname)
			FROM rel c JOIN pg_catalog.pg_policy pol ON pol.polrelid = c.oid
			UNION ALL
			SELECT format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s',
						  s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement,
						  s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
			FROM rel c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
			UNION ALL
			SELECT format('type %s typtype=%s acl=%s comment=%s', t.oid::regtype, t.typtype, t.typacl,
						  obj_description(t.oid, 'pg_type'))
			FROM pg_catalog.pg_type t
			JOIN member m ON m.classid = 'pg_catalog.pg_type'::regclass AND m.objid = t.oid
			UNION ALL
			SELECT format('object %s', pg_describe_object(m.classid, m.objid, 0))
			FROM member m
			WHERE m.classid NOT IN ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_class'::regclass,
									'pg_catalog.pg_type'::regclass)
		) AS facts(line)
		ORDER BY line COLLATE "C";
	SQL
}

# Diffs the extension's catalogs in databases $1 and $2 (labelled $3 and $4 in the
# diff); returns 1 when they differ (or cannot be read).
compare() {
	local dir rc=0
	dir=$(mktemp -d)
	if catalog_dump "$1" >"$dir/a" && catalog_dump "$2" >"$dir/b"; then
		if [ ! -s "$dir/a" ] || ! grep -q '^extension ' "$dir/a"; then
			echo "upgrade: extension session is not installed in $1" >&2
			rc=1
		else
			diff -u --label "${3:-$1}" --label "${4:-$2}" "$dir/a" "$dir/b" || rc=1
		fi
	else
		rc=1
	fi
	rm -rf "$dir"
	return $rc
}

SCRATCH_DBS=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
drop_scratch() {
	local db
	for db in "${SCRATCH_DBS[@]}"; do
		psql_run -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
	done
}

# Creates an empty scratch database named $1.
scratch_db() {
	SCRATCH_DBS+=("$1")
	psql_run -d postgres -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\" TEMPLATE template0" >/dev/null
}

if [ "${1:-}" = --compare ]; then
	[ $# -eq 3 ] || { echo "usage: $0 --compare DB1 DB2" >&2; exit 2; }
	compare "$2" "$3"
	exit
fi

cd "$ROOT"
current=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" session.control)
shopt -s nullglob
scripts=(sql/session--*--*.sql)
if [ ${#scripts[@]} -eq 0 ]; then
	echo "upgrade: no upgrade scripts yet (only version $current)"
	exit 0
fi

trap drop_scratch EXIT
extdir="$("$PG_CONFIG" --sharedir)/extension"
failed=0
for script in "${scripts[@]}"; do
	if ! cmp -s "$script" "$extdir/$(basename "$script")"; then
		echo "upgrade: FAILED $extdir/$(basename "$script") is missing or differs from $script (run make install)"
		failed=1
	fi
done
# The steps: every upgrade script on its own, then every released version (a kept
# install script sql/session--A.sql) straight to the current one, the path that
# ALTER EXTENSION session UPDATE takes on a real install (PostgreSQL chains the scripts).
steps=()
for script in "${scripts[@]}"; do
	pair=$(basename "$script" .sql)
	steps+=("${pair#session--}")
done
for install in sql/session--*.sql; do
	from=$(basename "$install" .sql)
	from=${from#session--}
	case $from in *--*) continue ;; esac
	[ "$from" = "$current" ] && continue
	[[ " ${steps[*]} " == *" $from--$current "* ]] || steps+=("$from--$current")
done
for pair in "${steps[@]}"; do
	from=${pair%%--*}
	to=${pair#*--}
	old="session_upgrade_$$_a"
	new="session_upgrade_$$_b"
	scratch_db "$old"
	scratch_db "$new"
	if ! psql_run -d "$old" -c "CREATE EXTENSION session VERSION '$from'" \
		-c "ALTER EXTENSION session UPDATE TO '$to'"; then
		echo "upgrade: FAILED $from -> $to: could not install $from and update it (is sql/session--$from.sql installed?)"
		failed=1
		continue
	fi
	if ! psql_run -d "$new" -c "CREATE EXTENSION session VERSION '$to'"; then
		echo "upgrade: FAILED $from -> $to: could not install $to"
		failed=1
		continue
	fi
	if compare "$old" "$new" "$from updated to $to" "$to installed"; then
		echo "upgrade: ok $from -> $to"
	else
		echo "upgrade: FAILED $from -> $to: the updated extension differs from a fresh install (diff above)"
		failed=1
	fi
	psql_run -d postgres -c "DROP DATABASE \"$old\"" -c "DROP DATABASE \"$new\"" >/dev/null
done
exit $failed
