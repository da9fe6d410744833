#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_execute, fuzz_http, fuzz_commands and
fuzz_result
into tests/fuzz/corpus/<target>/ (run from anywhere; the files are
committed, this script says how they were made)."""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------- fuzz_execute
LONGLONG, DOUBLE, STRING, DATE, DATETIME, TINY, BLOB = 8, 5, 254, 10, 12, 1, 252


def lenenc(b):
    assert len(b) < 251
    return bytes([len(b)]) + b


def execute(n, types, values, nulls=0, send_types=True, stmt=1):
    p = b"\x17" + struct.pack("<IBI", stmt, 0, 1)
    p += nulls.to_bytes((n + 7) // 8, "little") if n else b""
    if n:
        p += b"\x01" if send_types else b"\x00"
        if send_types:
            p += b"".join(struct.pack("<H", t) for t in types)
    return p + values


def exec_seed(n, bound_types, ld_mask, payload):
    h = bytes([n, 1 if bound_types is not None else 0])
    if bound_types is not None:
        h += b"".join(struct.pack("<H", t) for t in bound_types)
    h += ld_mask.to_bytes((n + 7) // 8, "little") if n else b""
    return h + payload


write("fuzz_execute", "no_params", exec_seed(0, None, 0, execute(0, [], b"")))
write("fuzz_execute", "one_longlong",
      exec_seed(1, None, 0, execute(1, [LONGLONG], struct.pack("<q", 42))))
write("fuzz_execute", "unsigned_tiny",
      exec_seed(1, None, 0, execute(1, [TINY | 0x8000], b"\xff")))
write("fuzz_execute", "mixed",
      exec_seed(4, None, 0, execute(
          4, [STRING, DOUBLE, DATE, DATETIME],
          lenenc(b"hello") + struct.pack("<d", 2.5) +
          b"\x04" + struct.pack("<HBB", 2024, 2, 29) +
          b"\x0b" + struct.pack("<HBBBBBI", 2024, 2, 29, 23, 59, 58, 123456))))
write("fuzz_execute", "nulls",
      exec_seed(3, None, 0, execute(3, [LONGLONG, STRING, LONGLONG],
                                    struct.pack("<q", 7), nulls=0b011)))
write("fuzz_execute", "bound_before",
      exec_seed(2, [LONGLONG, STRING], 0,
                execute(2, [], struct.pack("<q", -1) + lenenc(b"x"),
                        send_types=False)))
write("fuzz_execute", "long_data",
      exec_seed(2, None, 0b10, execute(2, [LONGLONG, BLOB],
                                       struct.pack("<q", 3))))
write("fuzz_execute", "last_prepared",
      exec_seed(1, None, 0, execute(1, [STRING], lenenc(b"abc"),
                                    stmt=0xFFFFFFFF)))

# ------------------------------------------------------------- fuzz_http
for name, req in [
    ("get_metrics", b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ("head_status", b"HEAD /status HTTP/1.0\r\n\r\n"),
    ("query_string", b"GET /healthz?x=1#f HTTP/1.1\r\nHost: a\r\n"
                     b"Accept: */*\r\nConnection: close\r\n\r\n"),
    ("bare_lf", b"\r\nGET / HTTP/1.1\nHost: a\n\n"),
    ("two_hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("bad_version", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
    ("post_body", b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3"
                  b"\r\n\r\nabc"),
    ("partial", b"GET /metr"),
    ("tls_hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
]:
    write("fuzz_http", name, req)

# --------------------------------------------------------- fuzz_commands
COM_QUIT, COM_INIT_DB, COM_QUERY, COM_FIELD_LIST = 1, 2, 3, 4
COM_STATISTICS, COM_PING, COM_CHANGE_USER = 9, 14, 17
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA = 22, 23, 24
COM_STMT_CLOSE, COM_STMT_RESET, COM_SET_OPTION = 25, 26, 27
COM_STMT_FETCH, COM_RESET_CONNECTION = 28, 31


def records(mode, *payloads):
    out = bytes([mode])
    for p in payloads:
        out += struct.pack("<H", len(p)) + p
    return out


def q(sql):
    return bytes([COM_QUERY]) + sql.encode()


write("fuzz_commands", "local_commands", records(
    0, bytes([COM_PING]), bytes([COM_STATISTICS]), q("SHOW DATABASES"),
    q("USE other"), bytes([COM_INIT_DB]) + b"shop",
    bytes([COM_SET_OPTION]) + b"\x01\x00", q("SET NAMES utf8mb4"),
    bytes([COM_FIELD_LIST]) + b"orders\x00", bytes([COM_STMT_FETCH]) +
    struct.pack("<II", 1, 1), bytes([0x7f]), bytes([COM_RESET_CONNECTION]),
    bytes([COM_QUIT])))
write("fuzz_commands", "routed_queries", records(
    0, q("SELECT * FROM orders WHERE user_id = 5"),
    q("INSERT INTO orders (user_id, a) VALUES (1, 'x'), (2, 'y')"),
    q("SELECT v FROM hot WHERE id = 1"), q("DELETE FROM audit WHERE id = 7"),
    q("BEGIN"), q("UPDATE orders SET a = 1 WHERE user_id IN (1, 2, 3)"),
    q("COMMIT"), q("SELECT 1; SELECT 2"), q("EXPLAIN SELECT * FROM orders"),
    q("SELECT 'a\\'; DELETE FROM audit; -- '")))
write("fuzz_commands", "prepare_cap", records(
    0, *[bytes([COM_STMT_PREPARE]) + b"USE shop"] * 6,
    bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", 0xFFFE0000, 0, 1),
    bytes([COM_STMT_CLOSE]) + struct.pack("<I", 0xFFFE0000),
    bytes([COM_STMT_PREPARE]) + b"SELECT * FROM orders WHERE user_id = ?"))
write("fuzz_commands", "execute_and_long_data", records(
    2,
    bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", 1, 0, 1) + b"\x00\x01" +
    struct.pack("<H", LONGLONG) + struct.pack("<q", 9),
    bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", 2, 0) +
    b"L" * 40000,
    bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", 2, 0) +
    b"L" * 40000,
    bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", 2, 0, 1) + b"\x00\x01" +
    struct.pack("<HH", BLOB, LONGLONG) + struct.pack("<q", 1),
    bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", 3, 2) + b"abc",
    bytes([COM_STMT_RESET]) + struct.pack("<I", 3),
    bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", 3, 0, 1) + b"\x00\x01" +
    struct.pack("<HHH", LONGLONG, STRING, STRING) + struct.pack("<q", 4) +
    lenenc(b"a") + lenenc(b"b"),
    bytes([COM_STMT_CLOSE]) + struct.pack("<I", 2),
    bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", 2, 0, 1)))
write("fuzz_commands", "change_user", records(
    0, bytes([COM_CHANGE_USER]) + b"ro\x00\x14" + b"\x00" * 20 +
    b"shop\x00\x2d\x00mysql_native_password\x00"))
write("fuzz_commands", "unread_output", records(
    4, *[q("SHOW DATABASES")] * 40, *[bytes([COM_PING])] * 40))
# Raw mode: a login with a wrong token, an oversized login, noise.
login = (struct.pack("<IIB23x", 0x000fa28d, 1 << 16, 45) + b"app\x00\x14" +
         b"\x01" * 20 + b"shop\x00mysql_native_password\x00")
write("fuzz_commands", "raw_bad_login",
      b"\x01" + struct.pack("<I", len(login))[:3] + b"\x01" + login)
write("fuzz_commands", "raw_big_login", b"\x01\xff\xff\xff\x01" + b"G" * 64)
write("fuzz_commands", "raw_caching_sha2", b"\x01" + struct.pack(
    "<I", len(login) + 1)[:3] + b"\x01" + login.replace(
        b"mysql_native_password", b"caching_sha2_password") + b"\x00")

# ----------------------------------------------------------- fuzz_result
# Header: flags (bit 0 binary rows, bit 1 DISTINCT), column count - 1, two
# bytes per column (index into fuzz_result.c's types[], charset/flag bits);
# then records [u16 length][payload].
T_TINY, T_LONG, T_LONGLONG, T_DOUBLE, T_DEC, T_DATE, T_DATETIME, T_TIME, \
    T_VARCHAR, T_BLOB, T_YEAR, T_FLOAT = range(12)


def rec(*payloads):
    return b"".join(struct.pack("<H", len(p)) + p for p in payloads)


def result_seed(flags, cols, *payloads):
    h = bytes([flags, len(cols) - 1])
    for t, bits in cols:
        h += bytes([t, bits])
    return h + rec(*payloads)


def trow(*vals):
    return b"".join(b"\xfb" if v is None else lenenc(v) for v in vals)


coldef = (lenenc(b"def") + lenenc(b"db") + lenenc(b"t") + lenenc(b"t") +
          lenenc(b"price") + lenenc(b"price") + b"\x0c" +
          struct.pack("<HIBHB", 63, 12, 246, 0, 2) + b"\x00\x00")
write("fuzz_result", "answers", result_seed(
    0, [(T_LONG, 0), (T_VARCHAR, 1), (T_DEC, 2 << 5)],
    b"\x00\x03\x00\x02\x00\x01\x00Rows matched: 3  Changed: 3",
    b"\xff\x7a\x04#42S02Table 'db.t' doesn't exist",
    b"\xfe\x00\x00\x0a\x00", b"\x03", coldef,
    trow(b"1", b"abc", b"1.50"), trow(b"-7", None, b"-0.25"),
    trow(b"1", b"ABC ", b"12.00")))
write("fuzz_result", "decimals", result_seed(
    2, [(T_DEC, 4 << 5), (T_DOUBLE, 0)],
    trow(b"99999999999999999999.99", b"1e20"), trow(b"-0.000001", b"0.1"),
    trow(b"0", b"-2.5"), b"123.456", b"-0"))
write("fuzz_result", "times", result_seed(
    0, [(T_TIME, 0), (T_DATETIME, 0), (T_YEAR, 8)],
    trow(b"-838:59:59", b"2024-02-29 23:59:58.123456", b"2024"),
    trow(b"00:00:01.5", b"0000-00-00 00:00:00", b"1901")))
binrow = (b"\x00\x00" + struct.pack("<q", -5) + lenenc(b"x") +
          struct.pack("<d", 2.5))
binrow2 = (b"\x00\x08" + struct.pack("<q", 7) + struct.pack("<d", -1.0))
write("fuzz_result", "binary", result_seed(
    1, [(T_LONGLONG, 0), (T_VARCHAR, 1), (T_DOUBLE, 0)], binrow, binrow2,
    b"\xfe\x00\x00\x02\x00"))

