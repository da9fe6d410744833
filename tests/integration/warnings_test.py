#!/usr/bin/python3
"""SHOW WARNINGS through myshard while clients share backend connections:
a client sees its own last statement's warnings and error, never another
client's. Four clients keep running statements whose warnings carry their
own text while one client, 200 times, runs a statement with a warning (and
with an error), waits a little, and asks SHOW WARNINGS, SELECT
@@warning_count and SHOW COUNT(*) WARNINGS; once it runs a statement that
names a table, SHOW WARNINGS is empty, as on a server. (Before, the pool
lent the connection on, and the client saw the others' warnings in about
nine rounds of ten.)

Environment: the rig's (MYSHARD_HOST/PORT/USER/PASSWORD/DB). TAP output;
exit status 1 if any check failed.
"""

import os
import sys
import threading
import time

import pymysql

HOST = os.environ.get("MYSHARD_HOST") or "127.0.0.1"
PORT = int(os.environ.get("MYSHARD_PORT") or 6033)
USER = os.environ.get("MYSHARD_USER") or "app"
PASSWORD = os.environ.get("MYSHARD_PASSWORD") or "app"
DB = os.environ.get("MYSHARD_DB") or "shop"
ROUNDS = 200
T = "itest_warnings_t"

n = 0
failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)


def connect():
    return pymysql.connect(host=HOST, port=PORT, user=USER, password=PASSWORD,
                           database=DB, autocommit=True)


def noise(stop, k):
    c = connect()
    cur = c.cursor()
    while not stop.is_set():
        cur.execute("SELECT CAST('other-client-%d' AS SIGNED)" % k)
        cur.fetchall()
    c.close()


def main():
    stop = threading.Event()
    threads = [threading.Thread(target=noise, args=(stop, k))
               for k in range(4)]
    for t in threads:
        t.start()
    a = connect()
    cur = a.cursor()
    cur.execute("DROP TABLE IF EXISTS " + T)
    cur.execute("CREATE TABLE " + T + " (id INT PRIMARY KEY)")
    cur.execute("INSERT INTO " + T + " VALUES (1)")
    own_missing = others = count_bad = err_missing = 0
    try:
        for i in range(ROUNDS):
            cur.execute("SELECT CAST('mine-%d' AS SIGNED)" % i)
            cur.fetchall()
            time.sleep(0.002)
            cur.execute("SELECT @@warning_count")
            if cur.fetchone()[0] != 1:
                count_bad += 1
            cur.execute("SHOW COUNT(*) WARNINGS")
            if cur.fetchone()[0] != 1:
                count_bad += 1
            cur.execute("SHOW WARNINGS")
            rows = cur.fetchall()
            if not any(("mine-%d" % i) in r[2] for r in rows):
                own_missing += 1
            if any("other-client" in r[2] for r in rows):
                others += 1
            try:
                cur.execute("INSERT INTO " + T + " VALUES (1)")
            except pymysql.err.IntegrityError:
                pass
            time.sleep(0.002)
            cur.execute("SHOW ERRORS")
            rows = cur.fetchall()
            if not any(r[1] == 1062 for r in rows):
                err_missing += 1
            if any("other-client" in r[2] for r in rows):
                others += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    ok(others == 0, "SHOW WARNINGS / SHOW ERRORS never showed another "
       "client's warning (%d of %d rounds did)" % (others, ROUNDS))
    ok(own_missing == 0, "SHOW WARNINGS showed the client's own warning "
       "(missing in %d of %d rounds)" % (own_missing, ROUNDS))
    ok(err_missing == 0, "SHOW ERRORS showed the client's own duplicate-key "
       "error (missing in %d of %d rounds)" % (err_missing, ROUNDS))
    ok(count_bad == 0, "@@warning_count and SHOW COUNT(*) WARNINGS were 1 "
       "after the warning (%d wrong)" % count_bad)
    cur.execute("SELECT CAST('last' AS SIGNED)")
    cur.fetchall()
    cur.execute("SELECT COUNT(*) FROM " + T)
    cur.fetchall()
    cur.execute("SHOW WARNINGS")
    rows = cur.fetchall()
    ok(len(rows) == 0, "a statement that names a table clears them: SHOW "
       "WARNINGS is empty (%r)" % (rows,))
    cur.execute("DROP TABLE " + T)
    a.close()
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
