#!/usr/bin/python3
"""session on pg_auto_failover: loses nothing a client was told was done.

Creates, in a temporary directory, a pg_auto_failover monitor and two data nodes on
loopback ports, preloads session on both, creates the extension, then runs four
clients that open, heartbeat (single and batched) and close sessions through a
multi-host connection string (target_session_attrs=read-write) while the primary is
taken away, and checks after each failover and again after the old primary has
rejoined as secondary:

  - every acknowledged open is there, every acknowledged close is closed, sessions
    the clients still hold are open; ids and uuids unique; the id sequence continues;
  - last_comm is not older than the last acknowledged heartbeat minus one heartbeat
    buffer flush interval (0 when there is no buffer: heartbeats write through);
  - the expiry worker does not run on a secondary, and on the new primary it expires
    an idle session within one session.reaper_interval of the promotion;
  - the listing functions and the views work on the secondary and agree with the
    primary once it has replayed everything;

and prints the seconds without a writable primary as the clients saw them.

Run by test/ha/run.sh (make ha: three failovers under full load) and by
test/reliability/ha.sh (make test: a kill -9 and a switchover, light load). Runs as a non-root
OS user (pg_autoctl refuses root), under a child subreaper so that killed
postmasters are reaped. Exits 1 when a check failed; the last line is
"N passed, N failed".
"""

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

# --- settings ---------------------------------------------------------------------

DBNAME = "session_ha"
APP_ROLE = "ha_app"
REAPER_INTERVAL_S = 2
CLIENTLESS_IDLE_TIMEOUT_S = 8   # the idle probe; longer than a switchover's drain
NETWORK_PARTITION_TIMEOUT_S = 5

# The monitor's failure detection, shortened from the defaults (in brackets): a
# dead primary is noticed in ~5 s instead of ~20 s and the secondary is promoted 10 s
# later instead of 30 s. primary_demote_timeout stays at twice the keepers'
# network_partition_timeout, so that a primary cut off from monitor and standby has
# demoted itself before its standby is promoted.
MONITOR_CONF = """
# --- test/ha: failure detection (defaults in brackets) ---
pgautofailover.health_check_period = 1000          # ms [5000]
pgautofailover.health_check_timeout = 1000         # ms [5000]
pgautofailover.health_check_max_retries = 2        # [2]
pgautofailover.health_check_retry_delay = 500      # ms [2000]
pgautofailover.node_considered_unhealthy_timeout = 5000   # ms [20000]
pgautofailover.primary_demote_timeout = 10000      # ms [30000]
# --- test/ha: small memory footprint (pg_autoctl sizes for the whole machine) ---
shared_buffers = '32MB'
work_mem = '4MB'
maintenance_work_mem = '32MB'
effective_cache_size = '256MB'
lc_messages = 'C'
"""

NODE_CONF = f"""
# --- test/ha: session (pg_auto_failover needs pg_stat_statements preloaded) ---
shared_preload_libraries = 'pg_stat_statements,session'
session.database = '{DBNAME}'
session.reaper_interval = '{REAPER_INTERVAL_S}s'
session.idle_timeout = '30min'
session.clientless_idle_timeout = '{CLIENTLESS_IDLE_TIMEOUT_S}s'
synchronous_commit = on
# --- test/ha: small memory and disk footprint ---
shared_buffers = '128MB'
work_mem = '4MB'
maintenance_work_mem = '64MB'
effective_cache_size = '512MB'
wal_keep_size = '1GB'
lc_messages = 'C'
log_line_prefix = '%m [%p] %b %q%u@%d '
"""

# --- small helpers ----------------------------------------------------------------

T0 = time.time()
RESULTS = {"passed": 0, "failed": 0}
LOST = {"opens": 0, "closes": 0, "held": 0, "heartbeats": 0, "worst_lag": 0.0}
FAILURES = []


def log(msg):
    print(f"[{time.time() - T0:7.1f}s] {msg}", flush=True)


def fmt(x):
    return "?" if x is None else f"{x:.1f}"


def check(ok, what):
    if ok:
        RESULTS["passed"] += 1
        print(f"ok      {what}", flush=True)
    else:
        RESULTS["failed"] += 1
        FAILURES.append(what)
        print(f"FAILED  {what}", flush=True)
    return ok


def pg_bindir():
    pg_config = os.environ.get("PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")
    try:
        return subprocess.run([pg_config, "--bindir"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "/usr/lib/postgresql/15/bin"


def port_free(port):
    if os.path.exists(f"/var/run/postgresql/.s.PGSQL.{port}"):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(first, n):
    ports = []
    port = first
    while len(ports) < n and port < first + 500:
        if port_free(port):
            ports.append(port)
        port += 1
    if len(ports) < n:
        raise RuntimeError(f"no {n} free ports from {first}")
    return ports


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1]
    except OSError:
        return None
    return None


def alive(pid):
    state = proc_state(pid)
    return state is not None and state != "Z"


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out += [int(c) for c in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def descendants(pid):
    out = []
    for c in children(pid):
        out.append(c)
        out += descendants(c)
    return out


def processes_in(directory):
    """Live processes whose working directory is `directory` (a postmaster and its
    children run in their data directory)."""
    directory = os.path.realpath(directory)
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{name}/cwd") == directory and alive(int(name)):
                out.append(int(name))
        except OSError:
            pass
    return out


def q(conninfo, sql, params=None, timeout=10):
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=timeout) as c:
        cur = c.execute(sql, params)
        return cur.fetchall() if cur.description else None


# --- the cluster ------------------------------------------------------------------

class Cluster:
    def __init__(self, base, first_port):
        self.base = base
        self.bindir = pg_bindir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("PG") or k == "PG_CONFIG"}
        self.env.update({
            "PATH": f"{self.bindir}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "XDG_CONFIG_HOME": f"{base}/xdg/config",
            "XDG_DATA_HOME": f"{base}/xdg/data",
            "XDG_RUNTIME_DIR": f"{base}/xdg/run",
            "LANG": "C.UTF-8",
        })
        for d in ("config", "data", "run"):
            os.makedirs(f"{base}/xdg/{d}", exist_ok=True)
        mport, p1, p2 = free_ports(first_port, 3)
        self.ports = {"monitor": mport, "node1": p1, "node2": p2}
        self.keepers = {}        # name -> Popen of `pg_autoctl run`
        self.groups = []         # process groups of every pg_autoctl started
        self.logs = {}

    def pgdata(self, name):
        return f"{self.base}/{name}"

    def dsn(self, name, db=DBNAME, user="postgres"):
        if name == "monitor":
            db = "pg_auto_failover"
        return f"host=127.0.0.1 port={self.ports[name]} dbname={db} user={user}"

    def multihost(self, user=APP_ROLE, extra=""):
        return (f"host=127.0.0.1,127.0.0.1 port={self.ports['node1']},{self.ports['node2']} "
                f"dbname={DBNAME} user={user} target_session_attrs=read-write "
                f"connect_timeout=2 {extra}")

    def spawn(self, args, logfile):
        """Starts a pg_autoctl command in a process group of its own, which shutdown()
        kills whatever is left of (an interrupted `create` leaves its children)."""
        with open(logfile, "a") as out:
            out.write(f"\n$ {' '.join(args)}\n")
            out.flush()
            proc = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.groups.append(proc.pid)
        return proc

    def autoctl(self, *args, timeout=300):
        proc = self.spawn(["pg_autoctl", *args], f"{self.base}/pg_autoctl.log")
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        if rc != 0:
            self.show_log(f"{self.base}/pg_autoctl.log")
            raise RuntimeError(f"pg_autoctl {args[0]} {args[1] if len(args) > 1 else ''} "
                               f"exited {rc}")

    def autoctl_start(self, *args):
        """pg_autoctl in the background (for a command that waits, like a switchover)."""
        return self.spawn(["pg_autoctl", *args], f"{self.base}/pg_autoctl.log")

    def show_log(self, path, n=40):
        try:
            with open(path) as f:
                lines = f.readlines()[-n:]
        except OSError:
            return
        print(f"---- last {len(lines)} lines of {path} ----")
        sys.stdout.writelines(lines)
        print("----", flush=True)

    def append_conf(self, name, text):
        with open(f"{self.pgdata(name)}/postgresql.conf", "a") as f:
            f.write(text)

    def run(self, name):
        self.keepers[name] = self.spawn(["pg_autoctl", "run", "--pgdata", self.pgdata(name)],
                                        f"{self.base}/{name}.keeper.log")

    def create_monitor(self):
        self.autoctl("create", "monitor", "--pgdata", self.pgdata("monitor"),
                     "--pgport", str(self.ports["monitor"]), "--hostname", "127.0.0.1",
                     "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl",
                     "--pgctl", f"{self.bindir}/pg_ctl")
        self.append_conf("monitor", MONITOR_CONF)
        self.run("monitor")
        self.wait_sql("monitor", "SELECT 1")

    def create_node(self, name):
        monitor = (f"postgres://autoctl_node@127.0.0.1:{self.ports['monitor']}"
                   "/pg_auto_failover?sslmode=disable")
        self.autoctl("create", "postgres", "--pgdata", self.pgdata(name),
                     "--pgport", str(self.ports[name]), "--listen", "127.0.0.1",
                     "--hostname", "127.0.0.1", "--name", name, "--dbname", DBNAME,
                     "--auth", "trust", "--no-ssl", "--ssl-mode", "disable",
                     "--pgctl", f"{self.bindir}/pg_ctl", "--monitor", monitor)
        self.autoctl("config", "set", "--pgdata", self.pgdata(name),
                     "timeout.network_partition_timeout", str(NETWORK_PARTITION_TIMEOUT_S))
        self.append_conf(name, NODE_CONF)
        self.run(name)

    def wait_sql(self, name, sql, timeout=120, db=DBNAME):
        deadline = time.time() + timeout
        while True:
            try:
                return q(self.dsn(name, db=db), sql, timeout=2)
            except psycopg.Error:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)

    def states(self):
        rows = q(self.dsn("monitor"),
                 "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node")
        return {r[0]: (r[1], r[2]) for r in rows}

    def wait_states(self, want, timeout=180):
        """Waits until each node of `want` reports (and has as goal) its state."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                st = self.states()
            except psycopg.Error:
                st = None
            if st != last:
                log(f"monitor: {st}")
                last = st
            if st and all(st.get(n) == (s, s) for n, s in want.items()):
                return True
            time.sleep(0.3)
        for name in self.keepers:
            self.show_log(f"{self.base}/{name}.keeper.log", 20)
        raise RuntimeError(f"nodes did not reach {want} in {timeout} s (last: {last})")

    def primary(self):
        for name, (rep, _goal) in self.states().items():
            if rep in ("primary", "wait_primary", "single"):
                return name
        raise RuntimeError("no primary")

    def postmaster_pid(self, name):
        try:
            with open(f"{self.pgdata(name)}/postmaster.pid") as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def kill9(self, name):
        """kill -9 of the node's keeper (every pg_autoctl process) and postmaster."""
        keeper = self.keepers[name]
        pm = self.postmaster_pid(name)
        victims = [keeper.pid] + [p for p in descendants(keeper.pid)
                                  if p != pm and "pg_autoctl" in cmdline(p)]
        if pm:
            victims.append(pm)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        keeper.wait()
        return pm

    def stop(self, name, timeout=60):
        """Clean stop: `pg_autoctl stop` (the keeper stops Postgres, fast mode)."""
        self.autoctl("stop", "--pgdata", self.pgdata(name))
        try:
            self.keepers[name].wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"{name}: pg_autoctl run still running {timeout} s after pg_autoctl stop")
            raise

    def wait_gone(self, name, timeout=30):
        """Waits until no process runs in the node's data directory (backends of a
        killed postmaster exit on their own); kills what is left after `timeout`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not processes_in(self.pgdata(name)):
                return True
            time.sleep(0.2)
        for pid in processes_in(self.pgdata(name)):
            os.kill(pid, signal.SIGKILL)
        return False

    def shutdown(self):
        for name in list(self.keepers):
            if self.keepers[name].poll() is None:
                try:
                    self.autoctl("stop", "--pgdata", self.pgdata(name), timeout=60)
                except Exception as e:  # noqa: BLE001 - cleanup goes on
                    log(f"{name}: pg_autoctl stop: {e}")
        for name, keeper in self.keepers.items():
            try:
                keeper.wait(60)
            except subprocess.TimeoutExpired:
                for pid in [keeper.pid] + descendants(keeper.pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                keeper.wait()
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name in ("node1", "node2", "monitor"):
            if os.path.isdir(self.pgdata(name)):
                for pid in processes_in(self.pgdata(name)):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass


    def leftovers(self):
        """Live processes of the groups of our pg_autoctl commands that are ours: a
        pg_autoctl or a process of our directory (a group id alone could be reused)."""
        groups = set(self.groups)
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                with open(f"/proc/{pid}/stat") as f:
                    pgid = int(f.read().rsplit(")", 1)[1].split()[2])
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except (OSError, ValueError, IndexError):
                continue
            line = cmdline(pid)
            if pgid in groups and alive(pid) and (
                    "pg_autoctl" in line or self.base in line or cwd.startswith(self.base)):
                out.append(pid)
        return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# --- the clients ------------------------------------------------------------------

class Pause:
    """Lets the orchestrator stop every client between two calls."""

    def __init__(self, n):
        self.cond = threading.Condition()
        self.paused = False
        self.parked = 0
        self.n = n

    def point(self, stop):
        with self.cond:
            if not self.paused:
                return
            self.parked += 1
            self.cond.notify_all()
            while self.paused and not stop.is_set():
                self.cond.wait(0.5)
            self.parked -= 1

    def pause(self, active, timeout=60):
        with self.cond:
            self.paused = True
            deadline = time.time() + timeout
            while self.parked < active() and time.time() < deadline:
                self.cond.wait(0.2)
            return self.parked >= active()

    def resume(self):
        with self.cond:
            self.paused = False
            self.cond.notify_all()


class Client(threading.Thread):
    HOLD = 30   # sessions a client keeps open at most

    def __init__(self, n, conninfo, stop, pause, think):
        super().__init__(name=f"client{n}", daemon=True)
        self.n = n
        self.conninfo = conninfo + f" application_name=ha-client-{n}"
        self.stop = stop
        self.pause = pause
        self.think = think
        self.rng = random.Random(1000 + n)
        self.open = []             # sessions this client holds open
        self.opened = {}           # id -> time the open was acknowledged
        self.closed = {}           # id -> close_session's result (acknowledged)
        self.close_unknown = set()  # close sent, outcome unknown (connection lost)
        self.hb_log = {}           # id -> [(sent, acknowledged)] of its heartbeats
        self.calls = {"open": 0, "heartbeat": 0, "batch": 0, "close": 0}
        self.unknown = {"open": 0, "heartbeat": 0, "batch": 0, "close": 0}
        self.anomalies = []        # acknowledged answers that contradict the records
        self.outages = []          # (last acknowledged call, first one after) times
        self.errors = {}
        self.last_ok = None
        self.down_since = None
        self.done = False

    def connect(self):
        while not self.stop.is_set():
            try:
                return psycopg.connect(self.conninfo, autocommit=True)
            except psycopg.Error as e:
                self.note_error(e, "connection attempt")
                time.sleep(0.1)
        return None

    def note_error(self, e, what="call"):
        key = f"{what}: {getattr(e, 'sqlstate', None) or type(e).__name__}"
        self.errors[key] = self.errors.get(key, 0) + 1

    def choose(self):
        if len(self.open) < 3:
            return "open"
        r = self.rng.random()
        if r < 0.25:
            return "close" if len(self.open) >= self.HOLD else "open"
        if r < 0.60:
            return "heartbeat"
        if r < 0.80:
            return "batch"
        return "close"

    def call(self, conn, op):
        if op == "open":
            k = self.rng.randrange(50)
            sql = ("SELECT session.open_session(%s, 'ha', %s::inet, 'browser', %s, "
                   "'ha-client', %s)")
            params = (f"user{self.n}_{k}", f"10.0.{self.n}.{k}", f"c{self.n}-{k}",
                      f"app{self.n}")
            return None, sql, params
        if op == "heartbeat":
            sid = self.rng.choice(self.open)
            pages = None if self.rng.random() < 0.5 else ["home", f"p{self.rng.randrange(9)}"]
            return [sid], "SELECT session.heartbeat(%s, %s, %s)", (
                sid, self.rng.randrange(1, 5000), pages)
        if op == "batch":
            ids = list(self.open)
            return ids, "SELECT session.heartbeat(%s::bigint[], %s::bigint[])", (
                ids, [self.rng.randrange(1, 5000) for _ in ids])
        sid = self.rng.choice(self.open)
        return [sid], "SELECT session.close_session(%s)", (sid,)

    def run(self):
        conn = None
        while not self.stop.is_set():
            self.pause.point(self.stop)
            if conn is None:
                conn = self.connect()
                if conn is None:
                    break
            op = self.choose()
            ids, sql, params = self.call(conn, op)
            sent = time.time()
            try:
                result = conn.execute(sql, params).fetchone()[0]
            except psycopg.Error as e:
                self.note_error(e)
                self.unknown[op] += 1
                if op == "close":
                    self.open.remove(ids[0])
                    self.close_unknown.add(ids[0])
                if self.down_since is None:
                    self.down_since = self.last_ok or sent
                if conn.closed or isinstance(e, psycopg.OperationalError):
                    try:
                        conn.close()
                    except psycopg.Error:
                        pass
                    conn = None
                continue
            acked = time.time()
            self.calls[op] += 1
            if op == "open":
                self.open.append(result)
                self.opened[result] = acked
            elif op == "heartbeat":
                if result is not True:
                    self.anomalies.append(f"heartbeat({ids[0]}) returned {result}")
                self.hb_log.setdefault(ids[0], []).append((sent, acked))
            elif op == "batch":
                if result != len(ids):
                    self.anomalies.append(f"batch of {len(ids)} touched {result}")
                for sid in ids:
                    self.hb_log.setdefault(sid, []).append((sent, acked))
            else:
                self.open.remove(ids[0])
                self.closed[ids[0]] = result
                if result is not True:
                    self.anomalies.append(f"close_session({ids[0]}) returned {result}")
            if self.down_since is not None:
                self.outages.append((self.down_since, acked))
                self.down_since = None
            self.last_ok = acked
            if self.think:
                time.sleep(self.think)
        if conn is not None:
            conn.close()
        self.done = True


# --- the checks -------------------------------------------------------------------

def all_rows(dsn):
    rows = q(dsn, """
        SELECT id, uuid, last_comm, end_time, end_reason FROM session.active_sessions
        UNION ALL
        SELECT id, uuid, last_comm, end_time, end_reason FROM session.history""", timeout=5)
    return rows


def flush_interval_s(dsn):
    """The heartbeat buffer's flush interval, 0 without a buffer (write-through)."""
    rows = q(dsn, "SELECT to_regprocedure('session.heartbeat_buffer_status()') IS NOT NULL")
    if not rows[0][0]:
        return 0.0, False
    rows = q(dsn, "SELECT flush_interval_ms FROM session.heartbeat_buffer_status()")
    return (rows[0][0] or 0) / 1000.0, True


def verify(dsn, clients, label, probes, failures):
    """The client records against the database behind `dsn` (clients paused).

    `failures`: (failure time, first write on the new primary) of each failover so
    far. A heartbeat acknowledged from one heartbeat flush interval before a failure
    to the new primary's first write may be lost (it was still in the old primary's
    buffer); every other acknowledged heartbeat must show in last_comm. Without a
    buffer (write-through) none may be lost."""
    rows = all_rows(dsn)
    by_id = {r[0]: r for r in rows}
    ids = [r[0] for r in rows]
    uuids = [r[1] for r in rows]
    probe_ids = {p["id"] for p in probes}
    opened = {}
    closed = {}
    held = {}
    hb = {}
    hb_count = 0
    unknown_close = set()
    for c in clients:
        opened.update(c.opened)
        closed.update(c.closed)
        held.update({sid: c for sid in c.open})
        hb.update(c.hb_log)
        unknown_close |= c.close_unknown
    lost_opens = [i for i in opened if i not in by_id]
    lost_closes = [i for i in closed if i in by_id and by_id[i][3] is None]
    ended_held = [i for i in held if i in by_id and by_id[i][3] is not None]
    interval, have_buffer = flush_interval_s(dsn)
    windows = [(t_fail - interval - 0.05, t_write, t_fail) for t_fail, t_write in failures] \
        if have_buffer else []
    stale = []          # last_comm older than a heartbeat that may not be lost
    lost_hb = 0         # acknowledged heartbeats last_comm does not show (in a window)
    worst_lag = 0.0     # how long before its failure the oldest of them was acknowledged
    for sid in held:
        if sid not in hb or sid not in by_id:
            continue
        hb_count += 1
        last_comm = by_id[sid][2].timestamp()
        for sent, acked in hb[sid]:
            if sent <= last_comm + 0.001:
                continue
            window = [w for w in windows if w[0] < acked < w[1]]
            if not window:
                stale.append((sid, round(sent - last_comm, 3)))
            else:
                lost_hb += 1
                worst_lag = max(worst_lag, window[0][2] - acked)
    LOST["opens"] = max(LOST["opens"], len(lost_opens))
    LOST["closes"] = max(LOST["closes"], len(lost_closes))
    LOST["held"] = max(LOST["held"], len(ended_held))
    LOST["worst_lag"] = max(LOST["worst_lag"], worst_lag)
    check(not lost_opens, f"{label}: {len(opened)} acknowledged opens all there "
          f"(lost {len(lost_opens)}{': ' + str(lost_opens[:5]) if lost_opens else ''})")
    check(not lost_closes, f"{label}: {len(closed)} acknowledged closes all closed "
          f"(lost {len(lost_closes)}{': ' + str(lost_closes[:5]) if lost_closes else ''})")
    check(not ended_held, f"{label}: the {len(held)} sessions the clients hold are open "
          f"(ended: {len(ended_held)}{' ' + str(ended_held[:5]) if ended_held else ''})")
    check(len(set(ids)) == len(ids) and len(set(uuids)) == len(uuids),
          f"{label}: ids and uuids unique over {len(rows)} sessions")
    LOST["heartbeats"] = max(LOST["heartbeats"], lost_hb)
    what = (f"heartbeat buffer, flush interval {interval * 1000:.0f} ms" if have_buffer
            else "no heartbeat buffer: heartbeats write through")
    check(not stale, f"{label}: last_comm of {hb_count} held sessions reflects every "
          f"acknowledged heartbeat but those of the last flush interval before a failure "
          f"({what}; {lost_hb} heartbeats lost, the oldest acknowledged "
          f"{worst_lag * 1000:.0f} ms before its failure)"
          f"{' stale: ' + str(stale[:5]) if stale else ''}")
    anomalies = [a for c in clients for a in c.anomalies]
    check(not anomalies, f"{label}: every acknowledged answer as expected "
          f"({len(anomalies)} surprises{': ' + str(anomalies[:5]) if anomalies else ''})")
    for p in probes:
        r = by_id.get(p["id"])
        check(r is not None, f"{label}: idle probe session {p['id']} is there")
    return {"rows": len(rows), "worst_lag": worst_lag, "interval": interval,
            "unknown_close": len(unknown_close), "probe_ids": probe_ids}


def reaper_count(dsn):
    return q(dsn, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'session reaper'")[0][0]


def standby_reads(cluster, primary, secondary, label, some_id):
    """The listing functions and views on the secondary; with the clients paused and
    everything replayed they agree with the primary."""
    pdsn, sdsn = cluster.dsn(primary), cluster.dsn(secondary)
    check(q(sdsn, "SELECT pg_is_in_recovery()")[0][0] is True,
          f"{label}: {secondary} is a hot standby")
    check(reaper_count(sdsn) == 0, f"{label}: no expiry worker on the secondary {secondary}")
    target = q(pdsn, "SELECT pg_current_wal_lsn()")[0][0]
    deadline = time.time() + 60
    while time.time() < deadline:
        if q(sdsn, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[0][0]:
            break
        time.sleep(0.1)
    queries = {
        "get_session_info()": "SELECT count(*) FROM session.get_session_info()",
        "get_session_info(regex, regex)":
            "SELECT count(*) FROM session.get_session_info('user1_.*', 'h.')",
        "get_session_info(id)":
            f"SELECT id, end_time IS NULL FROM session.get_session_info({some_id}::bigint)",
        "get_session_user(id)": f"SELECT session.get_session_user({some_id})",
        "active_sessions": "SELECT count(*) FROM session.active_sessions",
        "history": "SELECT count(*) FROM session.history",
        "project_usage": "SELECT project, open_sessions, users FROM session.project_usage "
                         "ORDER BY project",
        "concurrency()": "SELECT sum(peak_sessions) FROM session.concurrency("
                         "date_trunc('hour', now()) - interval '1 hour', "
                         "date_trunc('hour', now()) + interval '1 hour', '1 hour')",
        "connections": "SELECT count(*) FROM session.connections",
    }
    writes = {
        "open_session": "SELECT session.open_session('u', 'ha')",
        "heartbeat(id)": f"SELECT session.heartbeat({some_id}::bigint)",
        "heartbeat(ids)": f"SELECT session.heartbeat(ARRAY[{some_id}]::bigint[])",
        "close_session": f"SELECT session.close_session({some_id})",
    }
    for what, sql in writes.items():
        try:
            q(sdsn, sql)
            state = "accepted"
        except psycopg.Error as e:
            state = e.sqlstate
        check(state == "25006", f"{label}: {what} on the secondary refused with 25006 ({state})")
    for what, sql in queries.items():
        try:
            on_standby = q(sdsn, sql)
            on_primary = q(pdsn, sql)
        except psycopg.Error as e:
            check(False, f"{label}: {what} on the secondary: {e.sqlstate} {e}")
            continue
        if what == "connections":
            check(on_standby[0][0] >= 1, f"{label}: {what} works on the secondary")
        else:
            check(on_standby == on_primary,
                  f"{label}: {what} on the secondary = on the primary ({on_standby[0]})")


# --- the scenario -----------------------------------------------------------------

class Scenario:
    def __init__(self, args):
        self.args = args
        self.base = tempfile.mkdtemp(prefix="session-ha.", dir=args.dir)
        self.cluster = Cluster(self.base, args.port)
        self.stop = threading.Event()
        self.pause = Pause(4)
        self.clients = []
        self.rounds = []
        self.probes = []
        self.failures = []

    def setup(self):
        c = self.cluster
        t = time.time()
        log(f"temporary directory {self.base}; ports {c.ports}")
        c.create_monitor()
        log("monitor up")
        c.create_node("node1")
        c.wait_states({"node1": "single"})
        c.wait_sql("node1", "SELECT 1")
        q(c.dsn("node1"), f"""
            CREATE EXTENSION session;
            CREATE ROLE {APP_ROLE} LOGIN;
            GRANT session_app TO {APP_ROLE};""")
        # pg_basebackup (below) starts with a spread checkpoint: write the dirty
        # buffers now, at full speed
        q(c.dsn("node1"), "CHECKPOINT")
        c.create_node("node2")
        c.wait_states({"node1": "primary", "node2": "secondary"})
        self.setup_s = time.time() - t
        log(f"monitor, primary and secondary up in {self.setup_s:.1f} s")
        sync = q(c.dsn("node1"), "SELECT current_setting('synchronous_standby_names'), "
                 "current_setting('synchronous_commit')")[0]
        log(f"primary: synchronous_standby_names = {sync[0]!r}, synchronous_commit = {sync[1]}")
        check(sync[0] != "" and sync[1] == "on",
              "setup: commits wait for the secondary (synchronous replication)")
        check(reaper_count(c.dsn("node1")) == 1, "setup: the expiry worker runs on the primary")
        tuned = tuple(r[0] for r in q(c.dsn("monitor"), "SELECT setting FROM pg_settings WHERE name IN "
                  "('pgautofailover.primary_demote_timeout', "
                  "'pgautofailover.node_considered_unhealthy_timeout') ORDER BY name"))
        check(tuned == ("5000", "10000"),
              f"setup: the monitor's failure detection is tuned (demote and unhealthy timeouts {tuned})")

    def start_clients(self):
        think = 0.02 if self.args.short else 0
        for n in range(4):
            cl = Client(n + 1, self.cluster.multihost(), self.stop, self.pause, think)
            cl.start()
            self.clients.append(cl)

    def active_clients(self):
        return sum(1 for c in self.clients if not c.done)

    def paused(self):
        ok = self.pause.pause(self.active_clients)
        if not ok:
            log("some clients did not pause in time")
        return ok

    def some_id(self):
        for c in self.clients:
            if c.open:
                return c.open[0]
        return 1

    def wait_writable(self, old_port, since, timeout=180):
        """First successful write through the multi-host string on a node other than
        the old primary; returns its time."""
        deadline = since + timeout
        while time.time() < deadline:
            try:
                with psycopg.connect(self.cluster.multihost(user="postgres"),
                                     autocommit=True) as conn:
                    port = conn.execute("SELECT inet_server_port()").fetchone()[0]
                    if port != old_port:
                        conn.execute("SELECT txid_current()")
                        return time.time()
            except psycopg.Error:
                pass
            time.sleep(0.05)
        raise RuntimeError("no writable primary")

    def failover(self, n, how):
        c = self.cluster
        old = c.primary()
        new = "node2" if old == "node1" else "node1"
        label = f"failover {n} ({how})"
        time.sleep(self.args.warmup)
        # the idle probe: acknowledged by the old primary just before it goes away;
        # it becomes expirable only after the failover has begun
        probe = q(c.dsn(old), "SELECT session.open_clientless_session('probe', 'ha', "
                  "'probe-node'), clock_timestamp()")[0]
        self.probes.append({"id": probe[0]})
        calls_before = sum(sum(cl.calls.values()) for cl in self.clients)
        # list() copies a dict in one step, while the clients go on adding to it
        max_id_before = max((max(list(cl.opened), default=0) for cl in self.clients),
                            default=0)
        log(f"{label}: {old} -> {new}")
        t_kill = time.time()
        zombie = None
        if how == "kill -9":
            pm = c.kill9(old)
            time.sleep(0.5)
            zombie = proc_state(pm) == "Z" if pm else None
        elif how == "pg_autoctl stop":
            c.stop(old)
        elif how == "switchover":
            switchover = c.autoctl_start("perform", "switchover", "--pgdata", c.pgdata(new))
        t_writable = self.wait_writable(c.ports[old], t_kill)
        down = t_writable - t_kill
        log(f"{label}: writable primary again after {down:.1f} s")
        if zombie is not None:
            check(not zombie, f"{label}: the killed postmaster was reaped (no zombie)")
        # the expiry worker on the new primary
        ndsn = c.dsn(new)
        deadline = time.time() + 60
        end = None
        while time.time() < deadline:
            try:
                end = q(ndsn, "SELECT end_time, end_reason, last_comm FROM "
                        "session.get_session_info(%s::bigint)", (probe[0],))[0]
            except psycopg.Error:
                end = None
            if end and end[0] is not None:
                break
            time.sleep(0.1)
        t_seen = time.time()
        if how == "switchover":
            check(switchover.wait(300) == 0, f"{label}: pg_autoctl perform switchover succeeded")
        worker = q(ndsn, "SELECT backend_start FROM pg_stat_activity "
                   "WHERE backend_type = 'session reaper'")
        # due: on a writable primary and idle for longer than the timeout; seen: the
        # expiry committed (end_time is the expiring transaction's start, which may
        # precede the commit: see the README on pg_auto_failover's stop_replication)
        due = max(t_writable, end[2].timestamp() + CLIENTLESS_IDLE_TIMEOUT_S) if end else None
        expired_after = (t_seen - due) if end and end[0] else None
        check(len(worker) == 1, f"{label}: the expiry worker runs on the new primary {new}")
        check(end is not None and end[0] is not None and end[1] == "timeout"
              and end[0].timestamp() > t_kill,
              f"{label}: the idle session opened on {old} was expired after the failover "
              f"({end[1] if end else None})")
        check(expired_after is not None and expired_after <= REAPER_INTERVAL_S + 0.5,
              f"{label}: ... within one reaper_interval ({REAPER_INTERVAL_S} s) of it being "
              f"both expirable and on a writable primary "
              f"({expired_after if expired_after is None else round(expired_after, 2)} s)")
        # the clients
        deadline = time.time() + 60
        while time.time() < deadline and any(cl.down_since for cl in self.clients):
            time.sleep(0.2)
        outages = [o for cl in self.clients for o in cl.outages if o[1] >= t_kill]
        client_down = [round(b - a, 1) for a, b in outages]
        self.paused()
        self.failures.append((t_kill, t_writable))
        v = verify(ndsn, self.clients, f"after {label}", self.probes, self.failures)
        after = [i for cl in self.clients for i, t in cl.opened.items() if t > t_writable]
        check(all(i > max_id_before for i in after) and after,
              f"{label}: the id sequence continues ({len(after)} ids opened since, smallest "
              f"{min(after) if after else None} > {max_id_before})")
        calls = sum(sum(cl.calls.values()) for cl in self.clients)
        self.pause.resume()
        rnd = {"n": n, "how": how, "old": old, "new": new, "down": down,
               "client_down": client_down, "zombie": zombie,
               "promoted": worker[0][0].timestamp() - t_kill if worker else None,
               "expired_after": expired_after, "calls_before": calls_before,
               "calls_at_check": calls, "rows": v["rows"]}
        # the old primary rejoins
        # from the keeper's restart; a switchover keeps the keeper running: from its start
        t = t_kill
        if how != "switchover":
            c.wait_gone(old)
            t = time.time()
            c.run(old)
        c.wait_states({new: "primary", old: "secondary"}, timeout=300)
        rnd["rejoin"] = time.time() - t
        log(f"{label}: {old} is secondary again after {rnd['rejoin']:.1f} s")
        time.sleep(self.args.warmup / 2)
        self.paused()
        verify(ndsn, self.clients, f"after {old} rejoined", self.probes, self.failures)
        standby_reads(c, new, old, f"after {old} rejoined", self.some_id())
        self.pause.resume()
        self.rounds.append(rnd)

    def figures(self):
        totals = {k: sum(cl.calls[k] for cl in self.clients) for k in self.clients[0].calls}
        unknown = {k: sum(cl.unknown[k] for cl in self.clients) for k in self.clients[0].unknown}
        opened = sum(len(cl.opened) for cl in self.clients)
        closed = sum(len(cl.closed) for cl in self.clients)
        interval, have_buffer = flush_interval_s(self.cluster.dsn(self.rounds[-1]["new"]))
        print()
        print("==> figures")
        print(f"topology: monitor + 2 data nodes (synchronous replication), pg_auto_failover "
              f"{subprocess.run(['pg_autoctl', '--version'], capture_output=True, text=True).stdout.split()[2]}, "
              f"up in {self.setup_s:.0f} s")
        print(f"load: 4 clients, {'light (20 ms between calls)' if self.args.short else 'full (no pause)'}, "
              f"{sum(totals.values())} acknowledged calls: {totals['open']} opens, "
              f"{totals['heartbeat']} heartbeats, {totals['batch']} batched heartbeats, "
              f"{totals['close']} closes; outcome unknown (connection lost mid-call): "
              f"{sum(unknown.values())}")
        errors = {}
        for cl in self.clients:
            for k, v in cl.errors.items():
                errors[k] = errors.get(k, 0) + v
        print("what the clients got instead of answers (SQLSTATE or exception, count): "
              + ", ".join(f"{k} {v}" for k, v in sorted(errors.items(), key=lambda e: -e[1])))
        for r in self.rounds:
            cd = r["client_down"]
            print(f"failover {r['n']} ({r['how']}, {r['old']} -> {r['new']}):")
            print(f"    no writable primary for {r['down']:.1f} s (the standby was promoted, "
                  f"and its expiry worker started, after {fmt(r['promoted'])} s); each client "
                  f"went {min(cd) if cd else 0:.1f}-{max(cd) if cd else 0:.1f} s without an "
                  f"acknowledged call")
            print(f"    idle session expired {fmt(r['expired_after'])} s after it was due "
                  f"(reaper_interval {REAPER_INTERVAL_S} s); old primary a secondary again "
                  f"after {r['rejoin']:.0f} s")
        lost = LOST["opens"] + LOST["closes"] + LOST["held"]
        print(f"lost: {LOST['opens']} of {opened} acknowledged opens, {LOST['closes']} of "
              f"{closed} acknowledged closes, {LOST['held']} held sessions ended "
              f"({'ZERO LOST' if lost == 0 else 'LOST SOMETHING'}; checked after every "
              f"failover and rejoin)")
        if have_buffer:
            print(f"last_comm: {LOST['heartbeats']} acknowledged heartbeats lost at the "
                  f"failovers, the oldest acknowledged {LOST['worst_lag'] * 1000:.0f} ms before "
                  f"its failure (heartbeat buffer, flush interval {interval * 1000:.0f} ms)")
        else:
            print(f"last_comm: {LOST['heartbeats']} acknowledged heartbeats lost (no heartbeat "
                  f"buffer: heartbeats write through)")

    def table(self):
        """The figures as the README's table."""
        names = {"kill -9": "`kill -9` of postmaster and keeper",
                 "pg_autoctl stop": "clean `pg_autoctl stop`",
                 "switchover": "`pg_autoctl perform switchover`"}
        print()
        print("| failover | no writable primary | each client without an answer | "
              "standby promoted, worker started | idle session expired after due | "
              "old primary a secondary again |")
        print("|---|---|---|---|---|---|")
        for r in self.rounds:
            cd = r["client_down"] or [0]
            print(f"| {names[r['how']]} | {r['down']:.1f} s | {min(cd):.1f}–{max(cd):.1f} s | "
                  f"after {fmt(r['promoted'])} s | {fmt(r['expired_after'])} s | "
                  f"after {r['rejoin']:.0f} s |")

    def run(self):
        try:
            self.setup()
            self.start_clients()
            time.sleep(self.args.warmup)
            c = self.cluster
            self.paused()
            standby_reads(c, "node1", "node2", "before the failovers", self.some_id())
            self.pause.resume()
            # the switchover stops the primary with its synchronous standby gone
            # (the background worker must not hold that shutdown up)
            modes = (["kill -9", "switchover"] if self.args.short
                     else ["kill -9", "pg_autoctl stop", "switchover"])
            for n, how in enumerate(modes, 1):
                self.failover(n, how)
            self.stop.set()
            self.pause.resume()
            for cl in self.clients:
                cl.join(30)
            self.figures()
            self.table()
        finally:
            # a second interrupt must not cut the cleanup short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            self.stop.set()
            self.pause.resume()
            log("stopping the nodes and the monitor")
            self.cluster.shutdown()
            if self.args.keep:
                log(f"kept {self.base}")
            else:
                shutil.rmtree(self.base, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true",
                    help="two failovers (kill -9, switchover), light load")
    ap.add_argument("--port", type=int, default=int(os.environ.get("SESSION_HA_PORT", 6500)))
    ap.add_argument("--dir", default=os.environ.get("SESSION_HA_PARENT", "/tmp"))
    ap.add_argument("--keep", action="store_true",
                    default=os.environ.get("SESSION_TEST_KEEP") == "1")
    ap.add_argument("--warmup", type=float, default=None)
    args = ap.parse_args()
    if args.warmup is None:
        args.warmup = 4 if args.short else 15
    if os.geteuid() == 0:
        sys.exit("ha.py: pg_autoctl refuses to run as root; run it as postgres (test/ha/run.sh does)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    status = None
    try:
        Scenario(args).run()
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        check(False, f"scenario: {type(e).__name__}: {e}")
    except SystemExit as e:   # SIGTERM or SIGINT, after the cleanup
        check(False, "scenario: interrupted")
        status = e.code
    if FAILURES:
        print("failed:")
        for f in FAILURES:
            print(f"  {f}")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(status or (1 if RESULTS["failed"] else 0))


if __name__ == "__main__":
    main()
