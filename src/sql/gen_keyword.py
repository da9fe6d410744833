#!/usr/bin/env python3
"""gen_keyword.py - writes include/sql/keyword.h and src/sql/keyword.c.

The SQL words the lexer recognises, with their flags, are listed once below.
The generated C holds an enum of keyword ids, the names, the flags and an
open-addressing hash table (FNV-1a over the upper-cased word, linear probing)
laid out here, so a lookup in the lexer costs one hash and usually one
compare, with no initialisation at run time.

Flags:
  R  reserved in MySQL/MariaDB: never a bare table alias or column name
  F  function-style when followed by '(' (the digest writes no space before it)
  O  a function name only: an identifier unless followed by '(' (COUNT, SUM)
  A  an aggregate function

Usage: src/sql/gen_keyword.py  (rewrites both files, then clang-formats them)
"""
import os
import subprocess
import sys

WORDS = """
ACCESSIBLE R
ADD R
AFTER
AGAINST
ALGORITHM
ALL R
ALTER R
ANALYZE R
AND R
ANY
AS R
ASC R
ASENSITIVE R
AT
AUTO_INCREMENT
AVG OA
BEFORE R
BEGIN
BETWEEN R
BIGINT RF
BINARY RF
BINLOG
BIT_AND OA
BIT_OR OA
BIT_XOR OA
BLOB RF
BOTH R
BY R
CACHE
CALL R
CASCADE R
CASCADED
CASE R
CHAIN
CHANGE R
CHAR RF
CHARACTER R
CHARSET
CHECK R
CHECKSUM
CLONE
CLOSE
COLLATE R
COLLATION
COLUMN R
COLUMNS
COMMIT
COMMITTED
CONCURRENT
CONDITION R
CONNECTION
CONSISTENT
CONSTRAINT R
CONTINUE R
CONVERT RF
COUNT OA
CREATE R
CROSS R
CUBE R
CUME_DIST RF
CURRENT_DATE RF
CURRENT_TIME RF
CURRENT_TIMESTAMP RF
CURRENT_USER RF
CURSOR R
DATABASE RF
DATABASES R
DAY_HOUR R
DAY_MICROSECOND R
DAY_MINUTE R
DAY_SECOND R
DEALLOCATE
DEC RF
DECIMAL RF
DECLARE R
DEFAULT RF
DEFINER
DELAYED R
DELETE R
DENSE_RANK RF
DESC R
DESCRIBE R
DETERMINISTIC R
DISABLE
DISCARD
DISTINCT R
DISTINCTROW R
DIV R
DO
DOUBLE RF
DROP R
DUAL R
DUMPFILE
DUPLICATE
EACH R
ELSE R
ELSEIF R
EMPTY R
ENABLE
ENCLOSED R
END
ENGINE
ENGINES
ERRORS
ESCAPE
ESCAPED R
EVENT
EXCEPT R
EXECUTE
EXISTS R
EXIT R
EXPLAIN R
EXTENDED
FALSE R
FETCH R
FIELDS
FIRST
FIRST_VALUE RF
FLOAT RF
FLOAT4 RF
FLOAT8 RF
FLUSH
FOLLOWING
FOR R
FORCE R
FOREIGN R
FORMAT
FOUND_ROWS O
FROM R
FULL
FULLTEXT R
FUNCTION R
GENERATED R
GET R
GET_LOCK O
GLOBAL
GRANT R
GRANTS
GROUP R
GROUPING RF
GROUPS R
GROUP_CONCAT OA
HANDLER
HASH
HAVING R
HELP
HIGH_PRIORITY R
HOUR_MICROSECOND R
HOUR_MINUTE R
HOUR_SECOND R
IDENTIFIED
IF RF
IGNORE R
IN R
INDEX R
INDEXES
INFILE R
INNER R
INOUT R
INSENSITIVE R
INSERT RF
INSTALL
INT RF
INT1 RF
INT2 RF
INT3 RF
INT4 RF
INT8 RF
INTEGER RF
INTERSECT R
INTERVAL RF
INTO R
INVOKER
IO_AFTER_GTIDS R
IO_BEFORE_GTIDS R
IS R
ISOLATION
IS_FREE_LOCK O
IS_USED_LOCK O
ITERATE R
JOIN R
JSON_ARRAYAGG OA
JSON_OBJECTAGG OA
JSON_TABLE RF
KEY R
KEYS R
KILL R
LAG RF
LAST
LAST_INSERT_ID O
LAST_VALUE RF
LATERAL R
LEAD RF
LEADING R
LEAVE R
LEFT RF
LIKE R
LIMIT R
LINEAR R
LINES R
LOAD R
LOAD_FILE O
LOCAL
LOCALTIME RF
LOCALTIMESTAMP RF
LOCK R
LOCKED
LOGS
LONG R
LONGBLOB R
LONGTEXT R
LOOP R
LOW_PRIORITY R
MASTER
MASTER_BIND R
MASTER_SSL_VERIFY_SERVER_CERT R
MATCH RF
MAX OA
MAXVALUE R
MEDIUMBLOB R
MEDIUMINT RF
MEDIUMTEXT R
MERGE
MIDDLEINT RF
MIN OA
MINUTE_MICROSECOND R
MINUTE_SECOND R
MOD RF
MODE
MODIFIES R
MODIFY
NAMES
NATIONAL
NATURAL R
NEXT
NO
NOT R
NOWAIT
NO_WRITE_TO_BINLOG R
NTH_VALUE RF
NTILE RF
NULL R
NUMERIC RF
OF R
OFFSET
OJ
ON R
ONE
ONLY
OPEN
OPTIMIZE R
OPTIMIZER_COSTS R
OPTION R
OPTIONALLY R
OR R
ORDER R
OUT R
OUTER R
OUTFILE R
OVER R
PARTITION R
PARTITIONS
PERCENT_RANK RF
PERSIST
PERSIST_ONLY
PHASE
PLUGIN
PLUGINS
PRECISION R
PREPARE
PRESERVE
PRIMARY R
PRIVILEGES
PROCEDURE R
PROCESSLIST
PROFILE
PROFILES
PURGE R
QUERY
QUICK
RANGE R
RANK RF
READ R
READS R
READ_WRITE R
REAL RF
REBUILD
RECOVER
RECURSIVE R
REDUNDANT
REFERENCES R
REGEXP R
RELEASE R
RELEASE_ALL_LOCKS O
RELEASE_LOCK O
RELOAD
REMOVE
RENAME R
REORGANIZE
REPAIR
REPEAT RF
REPEATABLE
REPLACE RF
REPLICA
REPLICAS
REPLICATION
REQUIRE R
RESET
RESIGNAL R
RESTART
RESTRICT R
RESUME
RETURN R
RETURNING R
RETURNS
REVOKE R
RIGHT RF
RLIKE R
ROLLBACK
ROLLUP
ROUTINE
ROW RF
ROWS R
ROW_COUNT O
ROW_NUMBER RF
SAVEPOINT
SCHEMA RF
SCHEMAS R
SECOND_MICROSECOND R
SECURITY
SELECT R
SENSITIVE R
SEPARATOR R
SEQUENCE
SERIALIZABLE
SERVER
SESSION
SET R
SHARE
SHOW R
SHUTDOWN
SIGNAL R
SIGNED
SKIP
SLAVE
SMALLINT RF
SNAPSHOT
SOME
SONAME
SPATIAL R
SPECIFIC R
SQL R
SQLEXCEPTION R
SQLSTATE R
SQLWARNING R
SQL_BIG_RESULT R
SQL_BUFFER_RESULT
SQL_CACHE
SQL_CALC_FOUND_ROWS R
SQL_NO_CACHE
SQL_SMALL_RESULT R
SSL R
START
STARTING R
STD OA
STDDEV OA
STDDEV_POP OA
STDDEV_SAMP OA
STOP
STORED R
STRAIGHT_JOIN R
SUBPARTITION
SUBPARTITIONS
SUM OA
SYSTEM R
TABLE R
TABLES
TABLESPACE
TEMPORARY
TEMPTABLE
TERMINATED R
THEN R
TINYBLOB R
TINYINT RF
TINYTEXT R
TO R
TRAILING R
TRANSACTION
TRIGGER R
TRIGGERS
TRUE R
TRUNCATE
UNCOMMITTED
UNDEFINED
UNDO R
UNINSTALL
UNION R
UNIQUE R
UNKNOWN
UNLOCK R
UNSIGNED R
UNTIL
UPDATE R
UPGRADE
USAGE R
USE R
USING R
UTC_DATE RF
UTC_TIME RF
UTC_TIMESTAMP RF
VALUE
VALUES R
VARBINARY RF
VARCHAR RF
VARCHARACTER RF
VARIABLES
VARIANCE OA
VARYING R
VAR_POP OA
VAR_SAMP OA
VIEW
VIRTUAL R
WAIT
WARNINGS
WHEN R
WHERE R
WHILE R
WINDOW R
WITH R
WORK
WRITE R
XA
XML
XOR R
YEAR_MONTH R
ZEROFILL R
"""

SLOTS = 1024
MAXLEN = 32


SHIFT = 32 - SLOTS.bit_length() + 1
M32 = 0xFFFFFFFF


def kw_hash(word, k):
    """Mirrors kw_hash() in the generated C: a few bytes, case-folded."""
    b = [c | 0x20 for c in word.encode()]
    n = len(b)
    h = (n * k[0] + b[0] * k[1] + b[n - 1] * k[2] + b[n // 2] * k[3] +
         b[1] * k[4]) & M32
    return ((h * 2654435761) & M32) >> SHIFT


def layout(words, k):
    slots = [0] * SLOTS
    total = maxprobe = 0
    for i, w in enumerate(words):
        h = kw_hash(w, k)
        probe = 0
        while slots[h]:
            h = (h + 1) & (SLOTS - 1)
            probe += 1
        slots[h] = i + 1
        total += probe
        maxprobe = max(maxprobe, probe)
    return slots, total, maxprobe


def search(words):
    """Deterministic search for multipliers with few probes."""
    best = None
    x = 12345
    for _ in range(3000):
        k = []
        for _ in range(5):
            x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
            k.append(((x >> 33) | 1) & M32)
        slots, total, maxprobe = layout(words, k)
        score = (total, maxprobe)
        if best is None or score < best[0]:
            best = (score, k, slots, maxprobe)
    return best[1], best[2], best[3]


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(root))
    words = []
    for line in WORDS.strip().splitlines():
        parts = line.split()
        words.append((parts[0], parts[1] if len(parts) > 1 else ""))
    names = [w for w, _ in words]
    if names != sorted(names) or len(set(names)) != len(names):
        sys.exit("gen_keyword.py: keep WORDS sorted and unique")
    if len(words) * 2 > SLOTS:
        sys.exit("gen_keyword.py: raise SLOTS")
    for w in names:
        assert 2 <= len(w) <= MAXLEN
    k, slots, maxprobe = search(names)

    hdr = []
    hdr.append("/*\n * keyword.h - the SQL words the lexer recognises, as small integer ids\n"
               " * with flags. Generated by src/sql/gen_keyword.py from its word list;\n"
               " * edit the list there and rerun it, never this file.\n */\n")
    hdr.append("#ifndef MYSHARD_SQL_KEYWORD_H\n#define MYSHARD_SQL_KEYWORD_H\n\n")
    hdr.append("#include <stddef.h>\n\n")
    hdr.append("/* Keyword ids; KW_NONE (0) for any other word. */\nenum sql_kw {\n    KW_NONE = 0,\n")
    for w, _ in words:
        hdr.append("    KW_%s,\n" % w)
    hdr.append("    KW__COUNT\n};\n\n")
    hdr.append("#define KWF_RESERVED 0x01u /* reserved: never a bare alias or column */\n")
    hdr.append("#define KWF_FUNC     0x02u /* function-style when followed by '(' */\n")
    hdr.append("#define KWF_FUNCONLY 0x04u /* a function name only, else an identifier */\n")
    hdr.append("#define KWF_AGG      0x08u /* aggregate function */\n\n")
    hdr.append("#define KEYWORD_MAXLEN %d\n\n" % MAXLEN)
    hdr.append("/* Returns the id of the identifier p[0..len) (ASCII case-insensitive),\n"
               " * or KW_NONE. p holds identifier bytes ([A-Za-z0-9_$], >= 0x80) and\n"
               " * need not be NUL-terminated. */\n")
    hdr.append("unsigned keyword_lookup(const char *p, size_t len);\n")
    hdr.append("/* Upper-case name of a keyword id (\"\" for KW_NONE or out of range). */\n")
    hdr.append("const char *keyword_name(unsigned kw);\n")
    hdr.append("/* KWF_* flags of a keyword id (0 for KW_NONE). */\n")
    hdr.append("unsigned keyword_flags(unsigned kw);\n\n#endif\n")

    src = []
    src.append("/*\n * keyword.c - keyword names, flags and the lookup hash table.\n"
               " * Generated by src/sql/gen_keyword.py; edit the word list there and\n"
               " * rerun it, never this file. The hash reads the length and four\n"
               " * case-folded bytes; %d slots, linear probing, longest probe %d.\n */\n" % (SLOTS, maxprobe))
    src.append('#include "sql/keyword.h"\n\n#include <stdint.h>\n\n')
    src.append("static const char *const kw_names[KW__COUNT] = {\n    \"\",\n")
    for w, _ in words:
        src.append("    \"%s\",\n" % w)
    src.append("};\n\n")
    src.append("static const unsigned char kw_lens[KW__COUNT] = {\n    0,\n")
    for w, _ in words:
        src.append("    %d,\n" % len(w))
    src.append("};\n\n")
    src.append("static const unsigned char kw_flag_table[KW__COUNT] = {\n    0,\n")
    for w, f in words:
        bits = []
        if "R" in f:
            bits.append("KWF_RESERVED")
        if "F" in f:
            bits.append("KWF_FUNC")
        if "O" in f:
            bits.append("KWF_FUNCONLY")
        if "A" in f:
            bits.append("KWF_AGG")
        src.append("    %s,\n" % (" | ".join(bits) if bits else "0"))
    src.append("};\n\n")
    src.append("static const uint16_t kw_slots[%d] = {\n" % SLOTS)
    for i in range(0, SLOTS, 12):
        src.append("    " + ", ".join("%d" % s for s in slots[i:i + 12]) + ",\n")
    src.append("};\n\n")
    src.append("""static inline uint32_t
kw_hash(const unsigned char *p, size_t n)
{
    uint32_t h = (uint32_t)n * %uu + (uint32_t)(p[0] | 0x20) * %uu +
                 (uint32_t)(p[n - 1] | 0x20) * %uu +
                 (uint32_t)(p[n / 2] | 0x20) * %uu +
                 (uint32_t)(p[1] | 0x20) * %uu;
    return (h * 2654435761u) >> %d;
}

/* Identifier bytes fold to lower case with | 0x20 (letters); digits, '_'
 * and '$' compare to themselves, and keywords hold nothing else. */
unsigned
keyword_lookup(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned slot, id;

    if (len < 2 || len > KEYWORD_MAXLEN)
        return KW_NONE;
    for (slot = kw_hash(p, len);; slot = (slot + 1) & (%du - 1)) {
        const unsigned char *w;
        size_t i;

        id = kw_slots[slot];
        if (id == 0)
            return KW_NONE;
        if (kw_lens[id] != len)
            continue;
        w = (const unsigned char *)kw_names[id];
        for (i = 0; i < len; i++)
            if ((p[i] | 0x20) != (w[i] | 0x20))
                break;
        if (i == len)
            return id;
    }
}

""" % (k[0], k[1], k[2], k[3], k[4], SHIFT, SLOTS))
    src.append("""const char *
keyword_name(unsigned kw)
{
    return kw < KW__COUNT ? kw_names[kw] : "";
}

unsigned
keyword_flags(unsigned kw)
{
    return kw < KW__COUNT ? kw_flag_table[kw] : 0;
}
""")
    with open(os.path.join(root, "include/sql/keyword.h"), "w") as f:
        f.write("".join(hdr))
    with open(os.path.join(root, "src/sql/keyword.c"), "w") as f:
        f.write("".join(src))
    try:
        subprocess.run(["clang-format", "-i", "include/sql/keyword.h",
                        "src/sql/keyword.c"], cwd=root, check=False)
    except OSError:
        print("clang-format not found: format the two files before committing")
    print("keywords: %d, slots: %d, longest probe: %d" % (len(words), SLOTS, maxprobe))


if __name__ == "__main__":
    main()
