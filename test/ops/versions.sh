#!/usr/bin/env bash
# make test: the release metadata agree: the version of session.control
# (the one source) is the version of META.json (and of what it provides), the
# newest section of CHANGELOG.md and the upstream part of debian/changelog;
# META.json has what the PGXN meta spec 1.0.0 requires, its abstract is the
# control file's comment and its license is the one in LICENSE. The PostgreSQL
# versions named by debian/pgversions, META.json (x_postgresql_versions and the
# prerequisite), session.control's comment, src/compat.h and make matrix
# (MATRIX_VERSIONS of test/scripts/matrix.sh) are the same.
set -uo pipefail
ROOT=${SESSION_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
exec /usr/bin/python3 - "$ROOT" <<'PY'
import json, re, sys

root = sys.argv[1]
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  pass: {what}")
    else:
        failed += 1
        print(f"  FAIL: {what}" + (f": {detail}" if detail else ""))


control = open(f"{root}/session.control").read()
version = re.search(r"^default_version = '([^']+)'", control, re.M).group(1)
comment = re.search(r"^comment = '((?:[^']|'')*)'", control, re.M).group(1).replace("''", "'")

meta = json.load(open(f"{root}/META.json"))
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    check(key in meta, f"META.json has {key}")
check(meta.get("meta-spec", {}).get("version") == "1.0.0", "META.json follows meta spec 1.0.0")
check(meta.get("name") == "session", "META.json names the distribution session")
check(meta.get("version") == version, "META.json version is session.control's",
      f"{meta.get('version')} != {version}")
provided = meta.get("provides", {}).get("session", {})
check(provided.get("version") == version, "META.json provides session at that version",
      f"{provided.get('version')} != {version}")
check(provided.get("file") and __import__("os").path.exists(f"{root}/{provided['file']}"),
      "the file META.json provides exists", str(provided.get("file")))
check(meta.get("abstract") == comment, "META.json abstract is the control file's comment")
check(re.match(r"\s*PostgreSQL License", open(f"{root}/LICENSE").read()) is not None
      and meta.get("license") == "postgresql", "META.json license is LICENSE's (postgresql)")
check(re.fullmatch(r"\d+\.\d+\.\d+", meta.get("version", "")) is not None,
      "the version is semantic (PGXN)")

changelog = open(f"{root}/CHANGELOG.md").read()
top = re.search(r"^## (\S+)", changelog, re.M)
check(top is not None and top.group(1) == version, "CHANGELOG.md's newest section is the version",
      top.group(1) if top else "no section")

deb = open(f"{root}/debian/changelog").readline()
m = re.match(r"session \(([^)-]+)-[^)]+\)", deb)
check(m is not None and m.group(1) == version, "debian/changelog's newest entry is the version",
      deb.strip())

matrix = re.search(r"^VERSIONS=\$\{MATRIX_VERSIONS:-([0-9 ]+)\}", open(f"{root}/test/scripts/matrix.sh").read(), re.M)
tested = matrix.group(1).split() if matrix else []
check(len(tested) > 0, "make matrix names its versions", "no VERSIONS= in test/scripts/matrix.sh")
pgversions = open(f"{root}/debian/pgversions").read().split()
check(pgversions == tested, "debian/pgversions names the versions of make matrix",
      f"{pgversions} against {tested}")
check(meta.get("x_postgresql_versions") == tested, "META.json x_postgresql_versions names them",
      f"{meta.get('x_postgresql_versions')} against {tested}")
pg_req = meta.get("prereqs", {}).get("runtime", {}).get("requires", {}).get("PostgreSQL", "")
check(tested != [] and pg_req.startswith(f">= {tested[0]}.0.0")
      and pg_req.endswith(f"< {int(tested[-1]) + 1}.0.0"),
      "META.json requires PostgreSQL from the first to the last of them", pg_req)
words = " and ".join([", ".join(tested[:-1]), tested[-1]]) if len(tested) > 1 else "".join(tested)
check(re.search(rf"^# PostgreSQL {re.escape(words)}:", control, re.M) is not None,
      f"session.control's comment names PostgreSQL {words}")
compat = open(f"{root}/src/compat.h").read()
check(f'"session supports PostgreSQL {words}"' in compat, f"src/compat.h refuses all but {words}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
