#!/usr/bin/python3
"""Python mysqlclient (MySQLdb, on libmariadb) against the server named by
MYSHARD_HOST/PORT/USER/PASSWORD/DB: the driver checklist of
tests/drivers/run.sh. mysqlclient has no server-side prepared statements,
so parameters are interpolated by the client (text protocol). The
transaction is witnessed directly on the shard primary
(127.0.0.1:S0_PRIMARY_PORT as BACKEND_USER). TAP output; exit 1 on failure.
"""

import hashlib
import os
import random
import sys
import traceback

import MySQLdb
import MySQLdb.cursors
from MySQLdb.constants import CLIENT

HOST = os.environ.get("MYSHARD_HOST") or "127.0.0.1"
PORT = int(os.environ.get("MYSHARD_PORT") or 3306)
USER = os.environ.get("MYSHARD_USER") or "app"
PASSWORD = os.environ.get("MYSHARD_PASSWORD") or "app"
DB = os.environ.get("MYSHARD_DB") or "shop"
OTHER_DB = "appdb"
S0_PORT = int(os.environ.get("S0_PRIMARY_PORT") or 0)
BACKEND_USER = os.environ.get("BACKEND_USER") or "myshard"
BACKEND_PASSWORD = os.environ.get("BACKEND_PASSWORD") or "secret"

T = "drv_mysqlclient_t"
TROWS = "drv_mysqlclient_rows"
NROWS = 20000
BIG_LEN = 17 * 1024 * 1024 + 321
UNICODE = "\U0001F600 \u6F22\u5B57 h\u00E9llo \u041F\u0440\u0438"  # 14 chars
BINARY = bytes(range(256))

n_checks = 0
n_failed = 0


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def ok(cond, name, expected=None, got=None):
    global n_checks, n_failed
    n_checks += 1
    if not cond:
        n_failed += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n_checks, name),
          flush=True)
    if not cond and (expected is not None or got is not None):
        diag("expected %r, got %r" % (expected, got))
    return cond


def eq(got, expected, name):
    return ok(got == expected, name, expected, got)


def connect(**kw):
    args = dict(host=HOST, port=PORT, user=USER, password=PASSWORD,
                database=DB, charset="utf8mb4", connect_timeout=10,
                autocommit=True)
    args.update(kw)
    return MySQLdb.connect(**args)


def connect_direct():
    return MySQLdb.connect(host="127.0.0.1", port=S0_PORT, user=BACKEND_USER,
                           password=BACKEND_PASSWORD, database=DB,
                           charset="utf8mb4", connect_timeout=10,
                           autocommit=True)


def value(conn, sql, args=None):
    c = conn.cursor()
    try:
        c.execute(sql, args)
        row = c.fetchone()
        return None if row is None else row[0]
    finally:
        c.close()


def step(name):
    """Runs one checklist item; an exception is a failed check named after
    the item and does not stop the program."""
    def wrap(fn):
        def run(*a):
            try:
                fn(*a)
            except Exception:
                ok(False, name + " (raised)")
                diag(traceback.format_exc())
        return run
    return wrap


@step("text query")
def t_text(conn):
    c = conn.cursor()
    c.execute("SELECT 1, 'it''s', 2.5")
    eq(c.fetchone(), (1, "it's", 2.5), "text query: SELECT 1, 'it''s', 2.5")
    c.execute("DROP TABLE IF EXISTS " + T)
    c.execute("CREATE TABLE " + T + " (id INT PRIMARY KEY, s VARCHAR(100), "
              "b LONGBLOB, n INT) DEFAULT CHARSET=utf8mb4")
    ok(True, "text query: CREATE TABLE " + T)
    c.close()


@step("parameters")
def t_params(conn):
    c = conn.cursor()
    c.execute("SELECT %s + %s, %s", (40, 2, "a'b\"c\\d"))
    eq(c.fetchone(), (42, "a'b\"c\\d"),
       "parameters (client-side; mysqlclient has no server-side prepare)")
    n = c.execute("INSERT INTO " + T + " (id, s, n) VALUES (%s, %s, %s)",
                  (1, "one", 7))
    eq(n, 1, "parameterised INSERT affects 1 row")
    c.close()


@step("NULL")
def t_null(conn):
    c = conn.cursor()
    c.execute("INSERT INTO " + T + " (id, s, n) VALUES (%s, %s, %s)",
              (2, None, None))
    c.execute("SELECT s, n, n IS NULL FROM " + T + " WHERE id = 2")
    eq(c.fetchone(), (None, None, 1), "NULL in (parameter) and out (column)")
    eq(value(conn, "SELECT NULL"), None, "SELECT NULL is None")
    c.close()


@step("unicode and binary")
def t_unicode_binary(conn):
    c = conn.cursor()
    c.execute("INSERT INTO " + T + " (id, s, b) VALUES (%s, %s, %s)",
              (3, UNICODE, BINARY))
    c.execute("SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM " + T +
              " WHERE id = 3")
    s, clen, b, blen, bhex = c.fetchone()
    eq(s, UNICODE, "unicode (emoji, CJK) round trip")
    eq(clen, 14, "server counts 14 characters")
    eq(b, BINARY, "binary: all 256 byte values round trip")
    eq((blen, bhex), (256, BINARY.hex().upper()),
       "binary: server sees the 256 bytes")
    c.close()


@step("17 MB value")
def t_big(conn):
    big = random.Random(17).randbytes(BIG_LEN)
    c = conn.cursor()
    n = c.execute("INSERT INTO " + T + " (id, b) VALUES (%s, %s)", (4, big))
    eq(n, 1, "17 MB value: INSERT")
    c.execute("SELECT LENGTH(b), MD5(b) FROM " + T + " WHERE id = 4")
    eq(c.fetchone(), (BIG_LEN, hashlib.md5(big).hexdigest()),
       "17 MB value: server LENGTH and MD5 match the client's")
    c.execute("SELECT b FROM " + T + " WHERE id = 4")
    got = c.fetchone()[0]
    ok(got == big, "17 MB value: reads back byte-identical")
    if got != big:
        diag("got %d bytes" % len(got))
    c.close()


@step("streamed result")
def t_stream(conn):
    c = conn.cursor()
    c.execute("DROP TABLE IF EXISTS " + TROWS)
    c.execute("CREATE TABLE " + TROWS + " (id INT PRIMARY KEY, v INT, "
              "pad VARCHAR(32))")
    c.execute("INSERT INTO " + TROWS + " SELECT seq, MOD(seq, 113), "
              "CONCAT('pad', seq) FROM seq_1_to_%d" % NROWS)
    c.close()
    sc = conn.cursor(MySQLdb.cursors.SSCursor)
    sc.execute("SELECT id, v, pad FROM " + TROWS + " ORDER BY id")
    n = total = in_order = 0
    for row in sc:
        n += 1
        total += row[1]
        if row[0] == n and row[2] == "pad%d" % n:
            in_order += 1
    sc.close()
    eq(n, NROWS, "streamed result (SSCursor): 20,000 rows")
    ok(in_order == NROWS and
       total == sum(i % 113 for i in range(1, NROWS + 1)),
       "streamed rows in order with the right values")
    eq(value(conn, "SELECT COUNT(*) FROM " + TROWS), NROWS,
       "connection usable after the streamed result")


@step("transaction")
def t_txn(conn, direct):
    conn.autocommit(False)
    c = conn.cursor()
    c.execute("BEGIN")
    c.execute("INSERT INTO " + T + " (id, s) VALUES (100, 'rolled back')")
    eq(value(conn, "SELECT COUNT(*) FROM " + T + " WHERE id = 100"), 1,
       "transaction sees its own row")
    eq(value(direct, "SELECT COUNT(*) FROM " + T + " WHERE id = 100"), 0,
       "the shard primary does not see it before COMMIT")
    c.execute("ROLLBACK")
    eq(value(direct, "SELECT COUNT(*) FROM " + T + " WHERE id = 100"), 0,
       "ROLLBACK leaves nothing on the shard primary")
    c.execute("BEGIN")
    c.execute("INSERT INTO " + T + " (id, s) VALUES (101, 'committed')")
    c.execute("COMMIT")
    eq(value(direct, "SELECT s FROM " + T + " WHERE id = 101"), "committed",
       "COMMIT persists on the shard primary")
    c.close()
    conn.autocommit(True)


@step("error")
def t_error(conn):
    try:
        value(conn, "SELEC 1")
        ok(False, "syntax error reports 1064", 1064, "no error")
    except MySQLdb.MySQLError as e:
        eq(e.args[0], 1064, "syntax error reports 1064")
    eq(value(conn, "SELECT 2"), 2, "connection works after the error")


@step("multi-statements")
def t_multi():
    conn = connect(client_flag=CLIENT.MULTI_STATEMENTS)
    c = conn.cursor()
    c.execute("SELECT 1; SELECT 'two'; SELECT 3")
    got = [c.fetchall()]
    while c.nextset():
        got.append(c.fetchall())
    eq(got, [((1,),), (("two",),), ((3,),)],
       "multi-statements: three result sets")
    c.close()
    eq(value(conn, "SELECT 4"), 4, "connection works after multi-statements")
    conn.close()


@step("ping")
def t_ping(conn):
    conn.ping()
    ok(True, "ping")


@step("change of database")
def t_select_db(conn):
    conn.select_db(OTHER_DB)
    eq(value(conn, "SELECT DATABASE()"), OTHER_DB,
       "select_db(%s): SELECT DATABASE() returns it" % OTHER_DB)
    c = conn.cursor()
    c.execute("USE " + DB)
    c.close()
    eq(value(conn, "SELECT DATABASE()"), DB,
       "USE %s: SELECT DATABASE() returns it" % DB)


def main():
    print("# mysqlclient %s against %s:%d user=%s db=%s"
          % (".".join(map(str, MySQLdb.version_info[:3])), HOST, PORT,
             USER, DB), flush=True)
    try:
        conn = connect()
        direct = connect_direct()
    except Exception:
        ok(False, "connect (raised)")
        diag(traceback.format_exc())
        print("1..%d" % n_checks)
        return 1
    ok(True, "connect")
    t_text(conn)
    t_params(conn)
    t_null(conn)
    t_unicode_binary(conn)
    t_big(conn)
    t_stream(conn)
    t_txn(conn, direct)
    t_error(conn)
    t_multi()
    t_ping(conn)
    t_select_db(conn)
    try:
        c = conn.cursor()
        c.execute("DROP TABLE IF EXISTS " + T)
        c.execute("DROP TABLE IF EXISTS " + TROWS)
        c.close()
        conn.close()
        direct.close()
    except Exception:
        ok(False, "cleanup (raised)")
        diag(traceback.format_exc())
    print("1..%d" % n_checks, flush=True)
    if n_failed:
        diag("mysqlclient: %d of %d failed" % (n_failed, n_checks))
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
