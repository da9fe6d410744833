#!/usr/bin/python3
"""PyMySQL (a pure-Python driver that speaks the protocol itself, without
libmariadb) against myshard: text queries, client-side parameters, unicode
and binary values, NULL, transactions witnessed on the shard primary,
errors, executemany, multi-statements, a 20,000-row streamed read with
SSCursor, a 17 MB value, ping and select_db; TLS (ssl={'ca': ...}, the
rig's CA in MARIADB_TLS_CA, against the shared myshard's tls: section):
statements and a 17 MB value over TLS, and the require_tls user tlsuser
refused in plaintext and admitted over TLS.

Environment as for the C programs (MYSHARD_HOST/PORT/USER/PASSWORD/DB,
MYSHARD_EXPECT_PROXY, S0_PRIMARY_PORT, BACKEND_USER/PASSWORD). TAP output;
exit status 1 if any check failed.
"""

import hashlib
import os
import random
import sys
import traceback

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT

HOST = os.environ.get("MYSHARD_HOST") or "127.0.0.1"
PORT = int(os.environ.get("MYSHARD_PORT") or 6033)
USER = os.environ.get("MYSHARD_USER") or "app"
PASSWORD = os.environ.get("MYSHARD_PASSWORD") or "app"
DB = os.environ.get("MYSHARD_DB") or "shop"
PROXY = os.environ.get("MYSHARD_EXPECT_PROXY") == "1"
BACKEND_USER = os.environ.get("BACKEND_USER") or "myshard"
BACKEND_PASSWORD = os.environ.get("BACKEND_PASSWORD") or "secret"
S0_PRIMARY_PORT = int(os.environ.get("S0_PRIMARY_PORT") or 0)
TLS_CA = os.environ.get("MARIADB_TLS_CA") or ""

T = "itest_pymysql_t"
TROWS = "itest_pymysql_rows"
TBIG = "itest_pymysql_big"
NROWS = 20000
BIG_LEN = 17 * 1024 * 1024 + 321


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line, flush=True)

    def ok(self, cond, name, expected=None, got=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name),
              flush=True)
        if not cond and (expected is not None or got is not None):
            self.diag("expected %r, got %r" % (expected, got))
        return cond

    def eq(self, got, expected, name):
        return self.ok(got == expected, name, expected, got)

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def fail_exc(self, name):
        self.ok(False, name + " (raised)")
        self.diag(traceback.format_exc())

    def done(self):
        print("1..%d" % self.n, flush=True)
        if self.failed:
            self.diag("pymysql_test: %d of %d failed" % (self.failed, self.n))
        return 1 if self.failed else 0


tap = Tap()


def connect(**kw):
    args = dict(host=HOST, port=PORT, user=USER, password=PASSWORD,
                database=DB, charset="utf8mb4", connect_timeout=10,
                read_timeout=120, write_timeout=120,
                max_allowed_packet=256 * 1024 * 1024, binary_prefix=True)
    args.update(kw)
    return pymysql.connect(**args)


def connect_direct():
    """The s0 primary as the backend user: the proxy's witness."""
    if S0_PRIMARY_PORT:
        return pymysql.connect(host="127.0.0.1", port=S0_PRIMARY_PORT,
                               user=BACKEND_USER, password=BACKEND_PASSWORD,
                               database=DB, charset="utf8mb4",
                               autocommit=True, connect_timeout=10)
    return connect(autocommit=True)


def value(conn, sql, args=None):
    with conn.cursor() as c:
        c.execute(sql, args)
        row = c.fetchone()
        return None if row is None else row[0]


def section(name):
    """Runs a test function with a fresh connection of its own (autocommit
    off, PyMySQL's default); an exception becomes a failed check and does
    not spill into the next section."""
    def wrap(fn):
        def run(*a):
            conn = None
            try:
                conn = connect()
                fn(conn, *a)
            except Exception:
                tap.fail_exc(name)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        pass
        return run
    return wrap


@section("basic queries")
def test_basic(conn):
    tap.eq(value(conn, "SELECT 1"), 1, "SELECT 1")
    with conn.cursor() as c:
        c.execute("SELECT %s, %s, %s, %s",
                  (42, "it's \"quoted\" \\ back", None, 2.5))
        tap.eq(c.fetchone(), (42, "it's \"quoted\" \\ back", None, 2.5),
               "client-side parameters: int, quoted string, None, float")
        tap.eq([d[0] for d in c.description][:1], ["42"],
               "column names of a parameterised SELECT")
    text = "\U0001F600 \u6F22\u5B57 h\u00E9llo \u041F\u0440\u0438"
    tap.eq(value(conn, "SELECT %s", (text,)), text,
           "unicode (emoji, CJK) round-trips")
    tap.eq(value(conn, "SELECT CHAR_LENGTH(%s)", (text,)), 14,
           "server counts 14 characters")
    blob = bytes(range(256))
    tap.eq(value(conn, "SELECT %s", (blob,)), blob,
           "all 256 byte values round-trip as a parameter")
    tap.eq(value(conn, "SELECT UNHEX(%s)", (blob.hex(),)), blob,
           "UNHEX of all 256 byte values")
    tap.ok(value(conn, "SELECT NULL") is None, "SELECT NULL is None")


@section("table round trip")
def test_table(conn):
    with conn.cursor() as c:
        c.execute("DROP TABLE IF EXISTS " + T)
        c.execute("CREATE TABLE " + T + " (id INT AUTO_INCREMENT PRIMARY "
                  "KEY, s VARCHAR(100), b BLOB, n INT) "
                  "DEFAULT CHARSET=utf8mb4")
        text = "\U0001F363 \u5BFF\u53F8"
        n = c.execute("INSERT INTO " + T + " (s, b, n) VALUES (%s, %s, %s)",
                      (text, bytes(range(256)), None))
        tap.eq(n, 1, "INSERT reports 1 affected row")
        tap.eq(c.lastrowid, 1, "lastrowid is 1")
        conn.commit()
        c.execute("SELECT s, b, n FROM " + T + " WHERE id = 1")
        tap.eq(c.fetchone(), (text, bytes(range(256)), None),
               "unicode, binary and NULL read back from a table")
        n = c.executemany("INSERT INTO " + T + " (s, n) VALUES (%s, %s)",
                          [("row%d" % i, i) for i in range(1000)])
        tap.eq(n, 1000, "executemany inserts 1000 rows")
        conn.commit()
        tap.eq(value(conn, "SELECT COUNT(*), SUM(n) FROM " + T), 1001,
               "table holds 1001 rows")
        c.execute("SELECT SUM(n) FROM " + T)
        tap.eq(int(c.fetchone()[0]), sum(range(1000)), "sum of executemany")
        n = c.execute("UPDATE " + T + " SET n = n + 1 WHERE n < 10")
        tap.eq(n, 10, "UPDATE reports 10 affected rows")
        n = c.execute("DELETE FROM " + T + " WHERE n >= 500")
        tap.eq(n, 500, "DELETE reports 500 affected rows")
        conn.commit()


@section("transactions")
def test_transactions(conn, direct):
    with conn.cursor() as c:
        conn.begin()
        c.execute("INSERT INTO " + T + " (id, s) VALUES (5001, 'rb')")
        tap.eq(value(conn, "SELECT COUNT(*) FROM " + T + " WHERE id = 5001"),
               1, "transaction sees its own row")
        tap.eq(value(direct, "SELECT COUNT(*) FROM " + T + " WHERE id = 5001"),
               0, "the shard primary does not show it yet")
        conn.rollback()
        tap.eq(value(conn, "SELECT COUNT(*) FROM " + T + " WHERE id = 5001"),
               0, "rollback: row gone")
        tap.eq(value(direct, "SELECT COUNT(*) FROM " + T + " WHERE id = 5001"),
               0, "rollback: not on the shard primary")
        conn.begin()
        c.execute("INSERT INTO " + T + " (id, s) VALUES (5002, 'c')")
        conn.commit()
        tap.eq(value(direct, "SELECT s FROM " + T + " WHERE id = 5002"), "c",
               "commit: row on the shard primary")


@section("errors")
def test_errors(conn):
    try:
        value(conn, "SELEC 1")
        tap.ok(False, "syntax error raises")
    except pymysql.err.ProgrammingError as e:
        tap.eq(e.args[0], 1064, "syntax error raises ProgrammingError 1064")
    tap.eq(value(conn, "SELECT 2"), 2, "connection usable after the error")
    try:
        value(conn, "SELECT * FROM itest_pymysql_no_such")
        tap.ok(False, "unknown table raises")
    except pymysql.err.ProgrammingError as e:
        tap.eq(e.args[0], 1146, "unknown table raises 1146")
    tap.eq(value(conn, "SELECT 3"), 3, "connection usable after 1146")

    for name, kw, code in (
            ("wrong password gives 1045", dict(password="wrong"), 1045),
            ("unknown user gives 1045", dict(user="itest_nobody"), 1045),
            ("unknown database gives 1049", dict(database="nope"), 1049)):
        try:
            connect(**kw).close()
            tap.ok(False, name, code, "a connection")
        except pymysql.err.OperationalError as e:
            tap.eq(e.args[0], code, name)


@section("multi-statements")
def test_multi(unused):
    conn = connect(client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
    with conn.cursor() as c:
        c.execute("SELECT 1; SELECT 'two'; SELECT 3")
        got = [c.fetchall()]
        while c.nextset():
            got.append(c.fetchall())
        tap.eq(got, [((1,),), (("two",),), ((3,),)],
               "multi-statement returns three result sets")
    conn.close()


@section("streamed read")
def test_stream(conn):
    with conn.cursor() as c:
        c.execute("DROP TABLE IF EXISTS " + TROWS)
        c.execute("CREATE TABLE " + TROWS + " (id INT PRIMARY KEY, v INT, "
                  "pad VARCHAR(64))")
        rows = [(i, i % 113, "pad%05d" % i) for i in range(1, NROWS + 1)]
        for k in range(0, NROWS, 2000):
            c.executemany("INSERT INTO " + TROWS + " VALUES (%s, %s, %s)",
                          rows[k:k + 2000])
        conn.commit()
    sc = conn.cursor(pymysql.cursors.SSCursor)
    sc.execute("SELECT id, v, pad FROM " + TROWS + " ORDER BY id")
    n = total = in_order = 0
    for row in sc:
        n += 1
        total += row[1]
        if row[0] == n and row[2] == "pad%05d" % n:
            in_order += 1
    sc.close()
    tap.eq(n, NROWS, "SSCursor streams 20,000 rows")
    tap.ok(total == sum(i % 113 for i in range(1, NROWS + 1))
           and in_order == NROWS, "streamed rows in order with right values")
    sc = conn.cursor(pymysql.cursors.SSCursor)
    sc.execute("SELECT id FROM " + TROWS + " ORDER BY id")
    first = sc.fetchmany(5)
    sc.close()  # drops the rest of the result
    tap.eq([r[0] for r in first], [1, 2, 3, 4, 5],
           "fetchmany then close mid-result")
    tap.eq(value(conn, "SELECT COUNT(*) FROM " + TROWS), NROWS,
           "connection usable after closing a streamed cursor")
    with conn.cursor(pymysql.cursors.DictCursor) as c:
        c.execute("SELECT id, v FROM " + TROWS + " WHERE id = 20000")
        tap.eq(c.fetchone(), {"id": 20000, "v": 20000 % 113},
               "DictCursor row")


@section("17 MB value")
def test_big(conn):
    rnd = random.Random(17)
    big = rnd.randbytes(BIG_LEN)
    with conn.cursor() as c:
        c.execute("DROP TABLE IF EXISTS " + TBIG)
        c.execute("CREATE TABLE " + TBIG + " (id INT PRIMARY KEY, b LONGBLOB)")
        n = c.execute("INSERT INTO " + TBIG + " VALUES (1, %s)", (big,))
        conn.commit()
        tap.eq(n, 1, "INSERT of a 17 MB value")
        c.execute("SELECT LENGTH(b), MD5(b) FROM " + TBIG)
        tap.eq(c.fetchone(), (BIG_LEN, hashlib.md5(big).hexdigest()),
               "server-side LENGTH and MD5 of the 17 MB value")
        c.execute("SELECT b FROM " + TBIG + " WHERE id = 1")
        got = c.fetchone()[0]
        tap.ok(got == big, "17 MB value reads back byte-identical")
        if got != big:
            tap.diag("got %d bytes" % len(got))


@section("ping and select_db")
def test_ping_db(conn):
    conn.ping(reconnect=False)
    tap.ok(True, "ping")
    other = "appdb" if PROXY else "app_real"
    conn.select_db(other)
    tap.eq(value(conn, "SELECT 5"), 5, "select_db(%s) then a query" % other)
    conn.select_db(DB)
    tap.eq(value(conn, "SELECT DATABASE()"), DB, "select_db back to " + DB)
    try:
        conn.select_db("nope")
        tap.ok(False, "select_db(nope) fails with 1049")
    except pymysql.err.OperationalError as e:
        tap.eq(e.args[0], 1049, "select_db(nope) fails with 1049")
    tap.eq(value(conn, "SELECT DATABASE()"), DB,
           "database unchanged after the failed select_db")
    if PROXY:
        with conn.cursor() as c:
            c.execute("SHOW DATABASES")
            tap.eq(sorted(r[0] for r in c.fetchall()), ["appdb", "shop"],
                   "SHOW DATABASES lists exactly appdb, shop")
    else:
        tap.skip("SHOW DATABASES lists exactly appdb, shop", "direct server")


def test_tls():
    """TLS with the rig's CA, verified (PyMySQL checks the name too)."""
    if not PROXY:
        tap.skip("TLS through myshard", "direct server")
        return
    if not tap.ok(TLS_CA != "", "MARIADB_TLS_CA names the rig's CA"):
        return
    name = "TLS connect"
    try:
        conn = connect(ssl={"ca": TLS_CA, "check_hostname": True},
                       autocommit=True)
        sock = conn._sock
        tap.ok(hasattr(sock, "version") and sock.version() in
               ("TLSv1.2", "TLSv1.3"), "PyMySQL runs TLS (%s, %s)"
               % (sock.version(), sock.cipher()[0]))
        name = "statements over TLS"
        tap.eq(value(conn, "SELECT 40 + 2"), 42, "SELECT over TLS")
        rnd = random.Random(3)
        big = rnd.randbytes(3 * 1024 * 1024 + 7)
        with conn.cursor() as c:
            c.execute("DROP TABLE IF EXISTS " + TBIG)
            c.execute("CREATE TABLE " + TBIG +
                      " (id INT PRIMARY KEY, b LONGBLOB)")
            c.execute("INSERT INTO " + TBIG + " VALUES (2, %s)", (big,))
            c.execute("SELECT b FROM " + TBIG + " WHERE id = 2")
            tap.ok(c.fetchone()[0] == big,
                   "a 3 MB value over TLS reads back byte-identical")
        conn.close()
        name = "require_tls user"
        try:
            connect(user="tlsuser", password="tlsuser").close()
            tap.ok(False, "require_tls user refused in plaintext")
        except pymysql.err.OperationalError as e:
            tap.ok(e.args[0] == 1045 and "myshard:" in e.args[1]
                   and "TLS" in e.args[1],
                   "require_tls user refused in plaintext (%s)" % (e.args,))
        conn = connect(user="tlsuser", password="tlsuser",
                       ssl={"ca": TLS_CA})
        tap.eq(value(conn, "SELECT 9"), 9,
               "require_tls user admitted over TLS")
        conn.close()
    except Exception:
        tap.fail_exc(name)


def main():
    print("# pymysql %s against %s:%d user=%s db=%s%s"
          % (pymysql.__version__, HOST, PORT, USER, DB,
             " (proxy)" if PROXY else " (direct server)"), flush=True)
    try:
        conn = connect()
        direct = connect_direct()
    except Exception:
        tap.fail_exc("connect")
        return tap.done()
    tap.ok(True, "connect (PyMySQL, autocommit off)")
    tap.eq(value(conn, "SELECT @@autocommit"), 0,
           "PyMySQL's autocommit=0 reached the session")
    conn.close()
    test_basic()
    test_table()
    test_transactions(direct)
    test_errors()
    test_multi()
    test_stream()
    test_big()
    test_ping_db()
    test_tls()
    try:
        conn = connect(autocommit=True)
        with conn.cursor() as c:
            for t in (T, TROWS, TBIG):
                c.execute("DROP TABLE IF EXISTS " + t)
        conn.close()
        direct.close()
    except Exception:
        tap.fail_exc("cleanup")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
