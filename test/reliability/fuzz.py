#!/usr/bin/env python3
"""Randomized calls of every SQL function of the session extension.

Generates, from a fixed seed, a psql script of random calls whose arguments
are drawn from interesting values (NULLs, empty and over-long texts, odd
Unicode, injection strings, invalid and valid regular expressions, huge and
negative ids and byte counts, big arrays, malformed JSON, ...), mixed with
setting changes, transaction blocks and savepoints, then runs it with psql
against the database named by PGDATABASE (or --dbname) and checks that every
error carries a SQLSTATE the contract allows.

Prints per-function counts and a last line
    fuzz: N calls, E errors (by SQLSTATE ...), U unexpected
and exits 1 when there are unexpected errors.  --parallel P runs P scripts
(seeds seed..seed+P-1) at once against the same database, in autocommit
(no transaction blocks), so any deadlock is one between single statements.
"""

import argparse
import collections
import os
import random
import re
import subprocess
import sys
import threading

# SQLSTATEs the contract (or PostgreSQL itself, for its own input types)
# gives to bad input.
ALLOWED = {
    "22004": "null value not allowed",
    "22023": "invalid parameter value",
    "22001": "string data right truncation",
    "2201B": "invalid regular expression",
    "SE404": "session not found",
    "SE429": "session limit exceeded",
    "42501": "insufficient privilege",
    "57014": "query canceled (statement_timeout)",
    "22P02": "invalid text representation",
    "22P05": "untranslatable character",
    "22021": "character not in repertoire",
    "22003": "numeric value out of range",
    "22008": "datetime field overflow",
    "22007": "invalid datetime format",
    "54000": "program limit exceeded",
    "54001": "statement too complex",
}

SCOPES = ["browser", "designer", "ios", "android", "client", "clientless"]


def lit(s):
    """A SQL string literal (standard_conforming_strings on)."""
    if s is None:
        return "NULL"
    if "\x00" in s:
        raise ValueError("NUL")
    return "'" + s.replace("'", "''") + "'"


class Gen:
    def __init__(self, seed, allow_txn):
        self.r = random.Random(seed)
        self.allow_txn = allow_txn
        self.in_txn = False
        self.savepoints = 0

    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    # ---- values ---------------------------------------------------------
    def name(self, nullable=True):
        r = self.r.random()
        pool = [
            "alice", "bob", "carol", "dave", "erin", "Unauthenticated",
            "alice", "bob", "u" + str(self.r.randint(0, 50)),
            "", " ", "\t", "a" * 256, "a" * 257, "é" * 256, "é" * 257,
            "\U0001F600" * 3, "e\u0301\u0301", "\u202eadmin", "\ufffd",
            "\ufeff", "\u200b", "x'); DROP TABLE session_storage.sessions; --",
            "' OR 1=1 --", "$$", "\\", "%s%n", "Robert'); DROP TABLE students;--",
            ".*", "(", "null", "NULL",
        ]
        if nullable and r < 0.08:
            return "NULL"
        if r < 0.12:
            return "repeat(%s, %d)" % (lit(self.pick(["a", "é", "\U0001F600"])),
                                       self.pick([255, 256, 257, 1024, 1025, 5000]))
        return lit(self.pick(pool))

    def project(self):
        return self.name() if self.chance(0.3) else lit(self.pick(["proj", "mes", "scada", "p" + str(self.r.randint(0, 5))]))

    def node(self):
        if self.chance(0.5):
            return lit(self.pick(["n1", "n2", "n3"]))
        return self.name()

    def reason(self):
        if self.chance(0.7):
            return lit(self.pick(["logout", "timeout", "closed", "bye", "\U0001F389", "x" * 256]))
        return self.name()

    def scope(self):
        if self.chance(0.8):
            return lit(self.pick(SCOPES))
        return self.pick(["NULL", "''", "'Browser'", "'telnet'", "'browser '", lit("'; --")])

    def inet(self):
        return self.pick(["NULL", "'10.0.0.1'", "'::1'", "'192.168.0.0/16'", "'fe80::1'", "'bad'", "'999.0.0.1'"])

    def jsonb(self):
        return self.pick([
            "NULL", "'{}'", "'{\"a\": 1}'", "'{\"k\": [1, 2, {\"x\": null}]}'",
            "'[]'", "'\"s\"'", "'null'", "'1'", "'{'", "'{a: 1}'",
            "jsonb_build_object('big', repeat('v', 70000))",
            "jsonb_build_object('ok', repeat('v', 1000))",
            "'{\"u\": \"\\u0000\"}'",
        ])

    def bigint(self):
        return self.pick(["0", "1", "-1", "NULL::bigint", "9223372036854775807",
                          "-9223372036854775808", str(self.r.randint(0, 10 ** 6)),
                          str(self.r.randint(0, 10 ** 12))])

    def bytes_(self):
        if self.chance(0.7):
            return str(self.r.choice([0, 1, 100, 4096, self.r.randint(0, 10 ** 6)]))
        return self.bigint()

    def sid(self):
        r = self.r.random()
        k = self.r.randint(0, 30)
        if r < 0.45:
            return "(SELECT id FROM session_storage.sessions ORDER BY id LIMIT 1 OFFSET %d)" % k
        if r < 0.6:
            return "(SELECT id FROM session_storage.sessions ORDER BY id DESC LIMIT 1 OFFSET %d)" % k
        if r < 0.72:
            return "(SELECT id FROM session_storage.ended_sessions ORDER BY id DESC LIMIT 1 OFFSET %d)" % k
        if r < 0.8:
            return "(SELECT last_value FROM session_storage.sessions_id_seq)"
        return self.bigint()

    def sid_array(self):
        r = self.r.random()
        if r < 0.05:
            return "NULL::bigint[]"
        if r < 0.1:
            return "'{}'::bigint[]"
        if r < 0.18:
            n = self.pick([10, 1000, 100000])
            return "ARRAY(SELECT g FROM generate_series(1, %d) g)" % n
        if r < 0.25:
            return "ARRAY(SELECT id FROM session_storage.sessions ORDER BY id DESC)"
        n = self.r.randint(1, 6)
        elems = [self.sid() for _ in range(n)]
        if self.chance(0.1):
            elems.append("NULL")
        if self.chance(0.2):
            elems += elems[: self.r.randint(1, len(elems))]
        return "ARRAY[%s]::bigint[]" % ", ".join(elems)

    def bytes_array(self, n_hint):
        r = self.r.random()
        if r < 0.4:
            return "NULL"
        if r < 0.5:
            return "ARRAY[%s]::bigint[]" % ", ".join(self.bytes_() for _ in range(self.r.randint(0, 4)))
        return "(SELECT array_agg(%s) FROM unnest(%s))" % (self.pick(["1::bigint", "0::bigint", "-1::bigint", "9223372036854775807::bigint", "NULL::bigint"]), n_hint)

    def page_ids(self):
        r = self.r.random()
        if r < 0.3:
            return "NULL"
        if r < 0.4:
            return "'{}'::text[]"
        if r < 0.5:
            return "array_fill('p'::text, ARRAY[%d])" % self.pick([999, 1000, 1001, 100000])
        if r < 0.55:
            return "ARRAY[['a', 'b'], ['c', 'd']]"
        if r < 0.6:
            return "ARRAY['a', NULL]"
        if r < 0.65:
            return "ARRAY[repeat('p', %d)]" % self.pick([256, 257])
        return "ARRAY[%s]::text[]" % ", ".join(lit(self.pick(["home", "/x", "\U0001F600", "", "'; --", "p" * 20])) for _ in range(self.r.randint(1, 5)))

    def regex(self):
        r = self.r.random()
        if r < 0.15:
            return "NULL"
        return lit(self.pick([
            ".*", "a.*", "alice", "bob", "(?i)ALICE", "***=a.b", "***:u[0-9]+", "u[0-9]+",
            "", "Unauthenticated", "(?q).*", "(?x) a l i c e # c", "\U0001F600.*", "p.*", "proj",
            "(", "[", "*", "a{2,1}", "a)|(b", "(?z)x", "(a)\\2", "x{1000}",
            "(a*)*b", "(x+x+)+y", "'; DROP TABLE session_storage.sessions; --", "\\", "a|", "^alice$",
        ]))

    def interval(self):
        return self.pick(["NULL", "'1 day'", "'-1 day'", "'0'", "'1 hour'", "'100 years'",
                          "'1000000 years'", "'1 mon'", "'-1 mon'", "'10 minutes'", "'1 second'", "'1 day -1 hour'"])

    def ts(self):
        return self.pick(["NULL", "now()", "now() - interval '1 day'", "now() + interval '1 hour'",
                          "'infinity'", "'-infinity'", "now() - interval '1 year'", "'2000-01-01'"])

    def boolean(self):
        return self.pick(["true", "false", "NULL"])

    # ---- statements -----------------------------------------------------
    def call(self):
        """Returns (label, sql)."""
        f = self.r.random()
        if f < 0.16:
            args = [self.name(), self.project()]
            named = []
            if self.chance(0.5):
                named.append("address => " + self.inet())
            if self.chance(0.6):
                named.append("scope => " + self.scope())
            if self.chance(0.3):
                named.append("client_id => " + self.name())
            if self.chance(0.3):
                named.append("user_agent => " + self.pick([self.name(), "repeat('a', 1024)", "repeat('a', 1025)"]))
            if self.chance(0.5):
                named.append("node => " + self.node())
            if self.chance(0.3):
                named.append("attributes => " + self.jsonb())
            return "open_session", "SELECT session.open_session(%s)" % ", ".join(args + named)
        if f < 0.22:
            return "open_clientless_session", "SELECT session.open_clientless_session(%s, %s, %s, %s)" % (
                self.name(), self.project(), self.node(), self.jsonb())
        if f < 0.26:
            return "set_session_user", "SELECT session.set_session_user(%s, %s)" % (self.sid(), self.name())
        if f < 0.38:
            if self.chance(0.5):
                return "heartbeat", "SELECT session.heartbeat(%s)" % self.sid()
            return "heartbeat", "SELECT session.heartbeat(%s, %s, %s)" % (self.sid(), self.bytes_(), self.page_ids())
        if f < 0.46:
            ids = self.sid_array()
            if self.chance(0.4):
                return "heartbeat[]", "SELECT session.heartbeat(%s)" % ids
            return "heartbeat[]", "SELECT session.heartbeat(%s, %s)" % (ids, self.bytes_array(ids))
        if f < 0.54:
            if self.chance(0.3):
                return "close_session", "SELECT session.close_session(%s)" % self.sid()
            return "close_session", "SELECT session.close_session(%s, %s)" % (self.sid(), self.reason())
        if f < 0.57:
            return "close_clientless_session", "SELECT session.close_clientless_session(%s)" % self.sid()
        if f < 0.60:
            return "terminate_session", "SELECT session.terminate_session(%s, %s)" % (self.sid(), self.reason())
        if f < 0.62:
            return "close_node_sessions", "SELECT session.close_node_sessions(%s, %s)" % (self.node(), self.reason())
        if f < 0.70:
            return "get_session_info", "SELECT count(*) FROM session.get_session_info(%s, %s)" % (self.regex(), self.regex())
        if f < 0.74:
            return "get_session_info(id)", "SELECT id IS NOT NULL, end_reason FROM session.get_session_info(%s)" % self.sid()
        if f < 0.77:
            return "get_session_user", "SELECT session.get_session_user(%s)" % self.sid()
        if f < 0.80:
            return "set_user_context", "SELECT session.set_user_context(%s, %s)" % (self.name(), self.boolean())
        if f < 0.81:
            return "get_user_context", "SELECT session.get_user_context(), session.current_session_id()"
        if f < 0.82:
            return "reset_user_context", "SELECT session.reset_user_context()"
        if f < 0.85:
            return "attach_session", "SELECT session.attach_session(%s, %s)" % (self.sid(), self.boolean())
        if f < 0.87:
            return "expire_sessions", "SELECT session.expire_sessions()"
        if f < 0.88:
            return "purge_history", "SELECT session.purge_history(%s)" % self.interval()
        if f < 0.90:
            return "concurrency", "SELECT count(*) FROM session.concurrency(%s, %s, %s, %s)" % (
                self.ts(), self.ts(), self.interval(), self.regex())
        if f < 0.91:
            return "backend_contexts", "SELECT count(*) FROM session.backend_contexts()"
        if f < 0.93:
            view = self.pick(["active_sessions", "history", "project_usage", "connections"])
            return "views", "SELECT count(*) FROM session.%s" % view
        if f < 0.95:
            return "forgery", self.pick([
                "SET session.user_context = 'root'",
                "SELECT set_config('session.user_context', 'root', %s)" % self.pick(["true", "false"]),
                "SET session.session_id = '1'",
                "SET LOCAL session.user_context = 'x'",
            ])
        # settings
        return "settings", self.pick([
            "SET session.max_sessions_per_user = %d" % self.pick([0, 0, 1, 2, 5]),
            "SET session.limit_policy = %s" % self.pick(["reject", "evict_oldest"]),
            "SET session.idle_timeout = '%s'" % self.pick(["0", "1s", "30min"]),
            "SET session.max_lifetime = '%s'" % self.pick(["0", "2s", "1h"]),
            "SET session.clientless_idle_timeout = '%s'" % self.pick(["0", "1s"]),
            "SET session.notify = %s" % self.pick(["on", "off"]),
            "LISTEN session_events",
            "UNLISTEN session_events",
            "RESET session.max_sessions_per_user",
        ])

    def statements(self, n):
        """Yields (label, sql) for n calls, with transaction blocks."""
        made = 0
        while made < n:
            if self.allow_txn and not self.in_txn and self.chance(0.05):
                self.in_txn = True
                self.savepoints = 0
                yield "txn", self.pick(["BEGIN", "BEGIN ISOLATION LEVEL READ COMMITTED", "START TRANSACTION"])
                continue
            if self.in_txn:
                r = self.r.random()
                if r < 0.05:
                    self.savepoints += 1
                    yield "txn", "SAVEPOINT s%d" % self.savepoints
                    continue
                if r < 0.08 and self.savepoints > 0:
                    yield "txn", self.pick(["ROLLBACK TO SAVEPOINT s%d", "RELEASE SAVEPOINT s%d"]) % self.savepoints
                    self.savepoints -= 1
                    continue
                if r < 0.16:
                    self.in_txn = False
                    yield "txn", self.pick(["COMMIT", "ROLLBACK", "COMMIT"])
                    continue
            elif self.chance(0.005):
                yield "settings", self.pick(["DISCARD ALL", "RESET ALL"])
                continue
            made += 1
            yield self.call()
        if self.in_txn:
            yield "txn", "COMMIT"


def script(seed, calls, allow_txn, statement_timeout):
    g = Gen(seed, allow_txn)
    lines = [
        "\\set VERBOSITY verbose",
        "\\set ON_ERROR_ROLLBACK on",
        "\\set ON_ERROR_STOP off",
        "SET statement_timeout = '%s';" % statement_timeout,
        "SELECT setseed(%f);" % ((seed % 1000) / 1000.0),
    ]
    labels = {}
    for label, sql in g.statements(calls):
        lines.append(sql + ";")
        labels[len(lines)] = label
    return "\n".join(lines) + "\n", labels


ERROR_RE = re.compile(r"^psql:[^:]*:(\d+): (?:ERROR|FATAL|PANIC):  ([0-9A-Z]{5}): (.*)$")


def run_one(seed, calls, allow_txn, timeout, dbname, results, save_dir):
    text, labels = script(seed, calls, allow_txn, timeout)
    if save_dir:
        with open(os.path.join(save_dir, "fuzz-%d.sql" % seed), "w") as f:
            f.write(text)
    cmd = ["psql", "-X", "-q", "-f", "-", "-o", "/dev/null"]
    if dbname:
        cmd += ["-d", dbname]
    p = subprocess.run(cmd, input=text.encode(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    errs = []
    other = []
    for line in p.stderr.decode(errors="replace").splitlines():
        m = ERROR_RE.match(line)
        if m:
            errs.append((int(m.group(1)), m.group(2), m.group(3)))
        elif re.search(r"(server closed the connection|connection to server was lost|terminated abnormally|could not connect)", line):
            other.append(line)
    results[seed] = (labels, errs, other, p.returncode)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--dbname", default=None)
    ap.add_argument("--statement-timeout", default="5s")
    ap.add_argument("--save", default=None, help="directory to keep the generated scripts in")
    ap.add_argument("--print-script", action="store_true", help="print the script of --seed and exit")
    args = ap.parse_args()

    if args.print_script:
        sys.stdout.write(script(args.seed, args.calls, True, args.statement_timeout)[0])
        return 0

    allow_txn = args.parallel == 1
    results = {}
    threads = [threading.Thread(target=run_one, args=(args.seed + i, args.calls, allow_txn,
                                                      args.statement_timeout, args.dbname,
                                                      results, args.save))
               for i in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    per_fn = collections.defaultdict(lambda: [0, collections.Counter()])
    states = collections.Counter()
    unexpected = []
    lost = []
    total = 0
    for seed, (labels, errs, other, rc) in sorted(results.items()):
        for lineno, label in labels.items():
            if label not in ("txn",):
                per_fn[label][0] += 1
                total += 1
        for lineno, state, msg in errs:
            label = labels.get(lineno, "?")
            per_fn[label][1][state] += 1
            states[state] += 1
            if state not in ALLOWED:
                unexpected.append((seed, lineno, label, state, msg))
        lost += other

    print("fuzz: %-26s %7s  %s" % ("function", "calls", "errors by SQLSTATE"))
    for fn in sorted(per_fn):
        n, c = per_fn[fn]
        print("fuzz: %-26s %7d  %s" % (fn, n, ", ".join("%s %d" % kv for kv in sorted(c.items())) or "-"))
    for seed, lineno, label, state, msg in unexpected[:30]:
        print("fuzz: UNEXPECTED %s from %s (seed %d, script line %d): %s" % (state, label, seed, lineno, msg))
    for line in lost[:10]:
        print("fuzz: LOST CONNECTION: %s" % line)
    nerr = sum(states.values())
    print("fuzz: %d calls (seed %d%s), %d errors (%s), %d unexpected" % (
        total, args.seed, ", %d in parallel" % args.parallel if args.parallel > 1 else "",
        nerr, ", ".join("%s %d" % kv for kv in states.most_common()), len(unexpected) + len(lost)))
    return 1 if unexpected or lost else 0


if __name__ == "__main__":
    sys.exit(main())
