<?php
// php_test.php - PHP's mysqlnd drivers, mysqli and PDO_MySQL (both speak
// the protocol themselves, without libmariadb), against the server named by
// MYSHARD_HOST/PORT/USER/PASSWORD/DB: the driver checklist of
// tests/drivers/run.sh, once per API. mysqli->prepare and PDO with
// ATTR_EMULATE_PREPARES=false use server-side prepared statements. The
// transaction is witnessed directly on the shard primary
// (127.0.0.1:S0_PRIMARY_PORT as BACKEND_USER). TAP output; exit 1 on failure.

declare(strict_types=1);

const NROWS = 20000;
const BIG_LEN = 17 * 1024 * 1024 + 321;
const OTHER_DB = 'appdb';
const UNICODE = "\u{1F600} \u{6F22}\u{5B57} h\u{E9}llo \u{41F}\u{440}\u{438}"; // 14 chars

function envv(string $name, string $def): string
{
    $v = getenv($name);
    return ($v === false || $v === '') ? $def : $v;
}

$HOST = envv('MYSHARD_HOST', '127.0.0.1');
$PORT = (int) envv('MYSHARD_PORT', '3306');
$USER = envv('MYSHARD_USER', 'app');
$PASS = envv('MYSHARD_PASSWORD', 'app');
$DB = envv('MYSHARD_DB', 'shop');
$S0_PORT = (int) envv('S0_PRIMARY_PORT', '0');
$BUSER = envv('BACKEND_USER', 'myshard');
$BPASS = envv('BACKEND_PASSWORD', 'secret');

$n_checks = 0;
$n_failed = 0;

function diag(string $msg): void
{
    foreach (explode("\n", $msg) as $line) {
        echo "# $line\n";
    }
}

function ok(bool $cond, string $name): bool
{
    global $n_checks, $n_failed;
    $n_checks++;
    if (!$cond) {
        $n_failed++;
    }
    echo ($cond ? 'ok' : 'not ok') . " $n_checks - $name\n";
    return $cond;
}

function eq($got, $want, string $name): bool
{
    if (!ok($got === $want, $name)) {
        diag('expected ' . var_export($want, true) . ', got ' . var_export($got, true));
        return false;
    }
    return true;
}

// Runs one checklist item; an exception is a failed check named after it.
function step(string $name, callable $fn): void
{
    try {
        $fn();
    } catch (Throwable $e) {
        ok(false, "$name (raised)");
        diag(get_class($e) . ' ' . $e->getCode() . ': ' . $e->getMessage());
    }
}

function binary256(): string
{
    $b = '';
    for ($i = 0; $i < 256; $i++) {
        $b .= chr($i);
    }
    return $b;
}

function big_value(): string
{
    return random_bytes(BIG_LEN);
}

function stream_sum(): int
{
    $t = 0;
    for ($i = 1; $i <= NROWS; $i++) {
        $t += $i % 113;
    }
    return $t;
}

// ------------------------------------------------------------------ mysqli

function mysqli_connect_to(string $host, int $port, string $user, string $pass, string $db, int $flags = 0): mysqli
{
    $m = mysqli_init();
    $m->options(MYSQLI_OPT_CONNECT_TIMEOUT, 10);
    $m->options(MYSQLI_OPT_INT_AND_FLOAT_NATIVE, 1);
    $m->real_connect($host, $user, $pass, $db, $port, null, $flags);
    $m->set_charset('utf8mb4');
    return $m;
}

function mysqli_value(mysqli $m, string $sql)
{
    $r = $m->query($sql);
    $row = $r->fetch_row();
    $r->free();
    return $row === null ? null : $row[0];
}

function test_mysqli(mysqli $direct): void
{
    global $HOST, $PORT, $USER, $PASS, $DB;
    $T = 'drv_mysqli_t';
    $R = 'drv_mysqli_rows';
    diag('mysqli (' . mysqli_get_client_info() . ')');
    $m = null;
    step('mysqli: connect', function () use (&$m, $HOST, $PORT, $USER, $PASS, $DB) {
        $m = mysqli_connect_to($HOST, $PORT, $USER, $PASS, $DB);
        ok(true, 'mysqli: connect');
    });
    if ($m === null) {
        return;
    }

    step('mysqli: text query', function () use ($m, $T) {
        $r = $m->query("SELECT 1, 'it''s', 2.5");
        eq($r->fetch_row(), [1, "it's", '2.5'], "mysqli: text query: SELECT 1, 'it''s', 2.5");
        $m->query("DROP TABLE IF EXISTS $T");
        $m->query("CREATE TABLE $T (id INT PRIMARY KEY, s VARCHAR(100), b LONGBLOB, n INT) DEFAULT CHARSET=utf8mb4");
        ok(true, "mysqli: text query: CREATE TABLE $T");
    });

    step('mysqli: prepared statement', function () use ($m, $T) {
        $st = $m->prepare('SELECT ? + ?, CONCAT(?, \'!\')');
        $a = 40;
        $b = 2;
        $s = "a'b\"c\\d";
        $st->bind_param('iis', $a, $b, $s);
        $st->execute();
        eq($st->get_result()->fetch_row(), [42, "a'b\"c\\d!"], 'mysqli: prepared statement (server-side) with parameters');
        $a = 1;
        $b = 2;
        $st->execute();
        eq($st->get_result()->fetch_row()[0], 3, 'mysqli: prepared statement executed twice');
        $st->close();
        $st = $m->prepare("INSERT INTO $T (id, s, n) VALUES (?, ?, ?)");
        $id = 1;
        $s = 'one';
        $n = 7;
        $st->bind_param('isi', $id, $s, $n);
        $st->execute();
        eq($st->affected_rows, 1, 'mysqli: prepared INSERT affects 1 row');
        $st->close();
        try {
            $m->prepare('SELEC ?');
            ok(false, 'mysqli: preparing bad SQL reports 1064');
        } catch (mysqli_sql_exception $e) {
            eq($e->getCode(), 1064, 'mysqli: preparing bad SQL reports 1064');
        }
    });

    step('mysqli: NULL', function () use ($m, $T) {
        $st = $m->prepare("INSERT INTO $T (id, s, n) VALUES (?, ?, ?)");
        $id = 2;
        $s = null;
        $n = null;
        $st->bind_param('isi', $id, $s, $n);
        $st->execute();
        $st->close();
        $st = $m->prepare("SELECT s, n, n IS NULL FROM $T WHERE id = ?");
        $st->bind_param('i', $id);
        $st->execute();
        eq($st->get_result()->fetch_row(), [null, null, 1], 'mysqli: NULL in (parameter) and out (column)');
        $st->close();
        eq(mysqli_value($m, 'SELECT NULL'), null, 'mysqli: SELECT NULL is null (text)');
    });

    step('mysqli: unicode and binary', function () use ($m, $T) {
        $bin = binary256();
        $st = $m->prepare("INSERT INTO $T (id, s, b) VALUES (?, ?, ?)");
        $id = 3;
        $u = UNICODE;
        $st->bind_param('iss', $id, $u, $bin);
        $st->execute();
        $st->close();
        $st = $m->prepare("SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM $T WHERE id = ?");
        $st->bind_param('i', $id);
        $st->execute();
        [$s, $clen, $b, $blen, $bhex] = $st->get_result()->fetch_row();
        $st->close();
        eq($s, UNICODE, 'mysqli: unicode (emoji, CJK) round trip');
        eq($clen, 14, 'mysqli: server counts 14 characters');
        ok($b === $bin, 'mysqli: binary: all 256 byte values round trip');
        eq([$blen, $bhex], [256, strtoupper(bin2hex($bin))], 'mysqli: binary: server sees the 256 bytes');
        eq(mysqli_value($m, "SELECT s FROM $T WHERE id = 3"), UNICODE, 'mysqli: unicode through the text protocol');
        eq(mysqli_value($m, "SELECT '" . $m->real_escape_string($bin) . "'"), $bin, 'mysqli: binary as an escaped literal');
    });

    step('mysqli: 17 MB value', function () use ($m, $T) {
        $big = big_value();
        $st = $m->prepare("INSERT INTO $T (id, b) VALUES (?, ?)");
        $id = 4;
        $null = null;
        $st->bind_param('ib', $id, $null);
        foreach (str_split($big, 1 << 20) as $chunk) {
            $st->send_long_data(1, $chunk);
        }
        $st->execute();
        eq($st->affected_rows, 1, 'mysqli: 17 MB value (send_long_data): INSERT');
        $st->close();
        $r = $m->query("SELECT LENGTH(b), MD5(b) FROM $T WHERE id = 4");
        eq($r->fetch_row(), [BIG_LEN, md5($big)], "mysqli: 17 MB value: server LENGTH and MD5 match the client's");
        $got = mysqli_value($m, "SELECT b FROM $T WHERE id = 4");
        if (!ok($got === $big, 'mysqli: 17 MB value: reads back byte-identical (text)')) {
            diag('got ' . strlen((string) $got) . ' bytes');
        }
        $st = $m->prepare("SELECT b FROM $T WHERE id = ?");
        $st->bind_param('i', $id);
        $st->execute();
        $got = $st->get_result()->fetch_row()[0];
        $st->close();
        if (!ok($got === $big, 'mysqli: 17 MB value: reads back byte-identical (prepared)')) {
            diag('got ' . strlen((string) $got) . ' bytes');
        }
    });

    step('mysqli: streamed result', function () use ($m, $R) {
        $m->query("DROP TABLE IF EXISTS $R");
        $m->query("CREATE TABLE $R (id INT PRIMARY KEY, v INT, pad VARCHAR(32))");
        $m->query("INSERT INTO $R SELECT seq, MOD(seq, 113), CONCAT('pad', seq) FROM seq_1_to_" . NROWS);
        $r = $m->query("SELECT id, v, pad FROM $R ORDER BY id", MYSQLI_USE_RESULT);
        $n = $total = $in_order = 0;
        while (($row = $r->fetch_row()) !== null) {
            $n++;
            $total += (int) $row[1];
            if ((int) $row[0] === $n && $row[2] === "pad$n") {
                $in_order++;
            }
        }
        $r->free();
        eq($n, NROWS, 'mysqli: streamed result (MYSQLI_USE_RESULT): 20,000 rows');
        ok($in_order === NROWS && $total === stream_sum(), 'mysqli: streamed rows in order with the right values');
        $r = $m->query("SELECT id FROM $R ORDER BY id", MYSQLI_USE_RESULT);
        for ($i = 0; $i < 5; $i++) {
            $r->fetch_row();
        }
        $r->free();
        eq(mysqli_value($m, "SELECT COUNT(*) FROM $R"), NROWS, 'mysqli: connection usable after freeing a streamed result early');
    });

    step('mysqli: transaction', function () use ($m, $T, $direct) {
        $m->query('BEGIN');
        $m->query("INSERT INTO $T (id, s) VALUES (100, 'rolled back')");
        eq(mysqli_value($m, "SELECT COUNT(*) FROM $T WHERE id = 100"), 1, 'mysqli: transaction sees its own row');
        eq(mysqli_value($direct, "SELECT COUNT(*) FROM $T WHERE id = 100"), 0, 'mysqli: the shard primary does not see it before COMMIT');
        $m->query('ROLLBACK');
        eq(mysqli_value($direct, "SELECT COUNT(*) FROM $T WHERE id = 100"), 0, 'mysqli: ROLLBACK leaves nothing on the shard primary');
        $m->begin_transaction();
        $m->query("INSERT INTO $T (id, s) VALUES (101, 'committed')");
        $m->commit();
        eq(mysqli_value($direct, "SELECT s FROM $T WHERE id = 101"), 'committed', 'mysqli: COMMIT persists on the shard primary');
    });

    step('mysqli: error', function () use ($m) {
        try {
            $m->query('SELEC 1');
            ok(false, 'mysqli: syntax error reports 1064');
        } catch (mysqli_sql_exception $e) {
            eq($e->getCode(), 1064, 'mysqli: syntax error reports 1064');
            eq($m->errno, 1064, 'mysqli: errno is 1064');
        }
        eq(mysqli_value($m, 'SELECT 2'), 2, 'mysqli: connection works after the error');
    });

    step('mysqli: multi-statements', function () use ($m) {
        $got = [];
        $m->multi_query("SELECT 1; SELECT 'two'; SELECT 3");
        do {
            $r = $m->store_result();
            if ($r) {
                $got[] = $r->fetch_row()[0];
                $r->free();
            }
        } while ($m->more_results() && $m->next_result());
        eq($got, [1, 'two', 3], 'mysqli: multi_query: three result sets');
        eq(mysqli_value($m, 'SELECT 4'), 4, 'mysqli: connection works after multi_query');
    });

    step('mysqli: ping', function () use ($m) {
        ok($m->ping(), 'mysqli: ping');
    });

    step('mysqli: change of database', function () use ($m, $DB) {
        $m->select_db(OTHER_DB);
        eq(mysqli_value($m, 'SELECT DATABASE()'), OTHER_DB, 'mysqli: select_db(' . OTHER_DB . '): SELECT DATABASE() returns it');
        $m->query("USE $DB");
        eq(mysqli_value($m, 'SELECT DATABASE()'), $DB, "mysqli: USE $DB: SELECT DATABASE() returns it");
    });

    step('mysqli: cleanup', function () use ($m, $T, $R) {
        $m->query("DROP TABLE IF EXISTS $T");
        $m->query("DROP TABLE IF EXISTS $R");
        $m->close();
    });
}

// --------------------------------------------------------------------- PDO

function pdo_connect(string $host, int $port, string $user, string $pass, string $db, array $opts = []): PDO
{
    return new PDO("mysql:host=$host;port=$port;dbname=$db;charset=utf8mb4", $user, $pass, $opts + [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_EMULATE_PREPARES => false,
        PDO::ATTR_TIMEOUT => 10,
    ]);
}

function pdo_value(PDO $p, string $sql, array $args = [])
{
    $st = $p->prepare($sql);
    $st->execute($args);
    $v = $st->fetchColumn();
    $st->closeCursor();
    return $v === false ? 'no row' : $v;
}

function test_pdo(mysqli $direct): void
{
    global $HOST, $PORT, $USER, $PASS, $DB;
    $T = 'drv_pdo_t';
    $R = 'drv_pdo_rows';
    $p = null;
    step('PDO: connect', function () use (&$p, $HOST, $PORT, $USER, $PASS, $DB) {
        $p = pdo_connect($HOST, $PORT, $USER, $PASS, $DB);
        diag('PDO_MySQL (' . $p->getAttribute(PDO::ATTR_CLIENT_VERSION) . '), ATTR_EMULATE_PREPARES=false');
        ok(true, 'PDO: connect');
    });
    if ($p === null) {
        return;
    }

    step('PDO: text query', function () use ($p, $T) {
        $r = $p->query("SELECT 1, 'it''s', 2.5");
        eq($r->fetch(PDO::FETCH_NUM), [1, "it's", '2.5'], "PDO: text query: SELECT 1, 'it''s', 2.5");
        $p->exec("DROP TABLE IF EXISTS $T");
        $p->exec("CREATE TABLE $T (id INT PRIMARY KEY, s VARCHAR(100), b LONGBLOB, n INT) DEFAULT CHARSET=utf8mb4");
        ok(true, "PDO: text query: CREATE TABLE $T");
    });

    step('PDO: prepared statement', function () use ($p, $T) {
        $st = $p->prepare("SELECT ? + ?, CONCAT(?, '!')");
        $st->bindValue(1, 40, PDO::PARAM_INT);
        $st->bindValue(2, 2, PDO::PARAM_INT);
        $st->bindValue(3, "a'b\"c\\d");
        $st->execute();
        eq($st->fetch(PDO::FETCH_NUM), [42, "a'b\"c\\d!"], 'PDO: prepared statement (server-side) with parameters');
        $st->bindValue(1, 1, PDO::PARAM_INT);
        $st->execute();
        eq($st->fetch(PDO::FETCH_NUM)[0], 3, 'PDO: prepared statement executed twice');
        $st = $p->prepare("INSERT INTO $T (id, s, n) VALUES (?, ?, ?)");
        $st->execute([1, 'one', 7]);
        eq($st->rowCount(), 1, 'PDO: prepared INSERT affects 1 row');
        try {
            $p->prepare('SELEC ?');
            ok(false, 'PDO: preparing bad SQL reports 1064');
        } catch (PDOException $e) {
            eq($e->errorInfo[1] ?? null, 1064, 'PDO: preparing bad SQL reports 1064');
        }
    });

    step('PDO: NULL', function () use ($p, $T) {
        $st = $p->prepare("INSERT INTO $T (id, s, n) VALUES (?, ?, ?)");
        $st->bindValue(1, 2, PDO::PARAM_INT);
        $st->bindValue(2, null, PDO::PARAM_NULL);
        $st->bindValue(3, null, PDO::PARAM_NULL);
        $st->execute();
        $st = $p->prepare("SELECT s, n, n IS NULL FROM $T WHERE id = ?");
        $st->execute([2]);
        eq($st->fetch(PDO::FETCH_NUM), [null, null, 1], 'PDO: NULL in (parameter) and out (column)');
        eq($p->query('SELECT NULL')->fetchColumn(), null, 'PDO: SELECT NULL is null (text)');
    });

    step('PDO: unicode and binary', function () use ($p, $T) {
        $bin = binary256();
        $st = $p->prepare("INSERT INTO $T (id, s, b) VALUES (?, ?, ?)");
        $st->bindValue(1, 3, PDO::PARAM_INT);
        $st->bindValue(2, UNICODE);
        $st->bindValue(3, $bin, PDO::PARAM_LOB);
        $st->execute();
        $st = $p->prepare("SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM $T WHERE id = ?");
        $st->execute([3]);
        [$s, $clen, $b, $blen, $bhex] = $st->fetch(PDO::FETCH_NUM);
        eq($s, UNICODE, 'PDO: unicode (emoji, CJK) round trip');
        eq($clen, 14, 'PDO: server counts 14 characters');
        ok($b === $bin, 'PDO: binary: all 256 byte values round trip');
        eq([$blen, $bhex], [256, strtoupper(bin2hex($bin))], 'PDO: binary: server sees the 256 bytes');
        eq($p->query("SELECT s FROM $T WHERE id = 3")->fetchColumn(), UNICODE, 'PDO: unicode through the text protocol');
    });

    step('PDO: 17 MB value', function () use ($p, $T) {
        $big = big_value();
        $st = $p->prepare("INSERT INTO $T (id, b) VALUES (?, ?)");
        $st->bindValue(1, 4, PDO::PARAM_INT);
        $st->bindValue(2, $big, PDO::PARAM_LOB);
        $st->execute();
        eq($st->rowCount(), 1, 'PDO: 17 MB value: INSERT');
        $st = $p->prepare("SELECT LENGTH(b), MD5(b) FROM $T WHERE id = ?");
        $st->execute([4]);
        eq($st->fetch(PDO::FETCH_NUM), [BIG_LEN, md5($big)], "PDO: 17 MB value: server LENGTH and MD5 match the client's");
        $got = pdo_value($p, "SELECT b FROM $T WHERE id = ?", [4]);
        if (!ok($got === $big, 'PDO: 17 MB value: reads back byte-identical')) {
            diag('got ' . strlen((string) $got) . ' bytes');
        }
    });

    step('PDO: streamed result', function () use ($p, $R) {
        $p->exec("DROP TABLE IF EXISTS $R");
        $p->exec("CREATE TABLE $R (id INT PRIMARY KEY, v INT, pad VARCHAR(32))");
        $p->exec("INSERT INTO $R SELECT seq, MOD(seq, 113), CONCAT('pad', seq) FROM seq_1_to_" . NROWS);
        $p->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, false);
        $st = $p->prepare("SELECT id, v, pad FROM $R WHERE id > ? ORDER BY id");
        $st->execute([0]);
        $n = $total = $in_order = 0;
        while (($row = $st->fetch(PDO::FETCH_NUM)) !== false) {
            $n++;
            $total += $row[1];
            if ($row[0] === $n && $row[2] === "pad$n") {
                $in_order++;
            }
        }
        $st->closeCursor();
        eq($n, NROWS, 'PDO: streamed result (unbuffered): 20,000 rows');
        ok($in_order === NROWS && $total === stream_sum(), 'PDO: streamed rows in order with the right values');
        $st = $p->query("SELECT id FROM $R ORDER BY id");
        for ($i = 0; $i < 5; $i++) {
            $st->fetch();
        }
        $st->closeCursor();
        $p->setAttribute(PDO::MYSQL_ATTR_USE_BUFFERED_QUERY, true);
        eq(pdo_value($p, "SELECT COUNT(*) FROM $R"), NROWS, 'PDO: connection usable after closing a streamed cursor early');
    });

    step('PDO: transaction', function () use ($p, $T, $direct) {
        $p->beginTransaction();
        $p->exec("INSERT INTO $T (id, s) VALUES (100, 'rolled back')");
        eq(pdo_value($p, "SELECT COUNT(*) FROM $T WHERE id = 100"), 1, 'PDO: transaction sees its own row');
        eq(mysqli_value($direct, "SELECT COUNT(*) FROM $T WHERE id = 100"), 0, 'PDO: the shard primary does not see it before COMMIT');
        $p->rollBack();
        eq(mysqli_value($direct, "SELECT COUNT(*) FROM $T WHERE id = 100"), 0, 'PDO: ROLLBACK leaves nothing on the shard primary');
        $p->beginTransaction();
        $p->exec("INSERT INTO $T (id, s) VALUES (101, 'committed')");
        $p->commit();
        eq(mysqli_value($direct, "SELECT s FROM $T WHERE id = 101"), 'committed', 'PDO: COMMIT persists on the shard primary');
    });

    step('PDO: error', function () use ($p) {
        try {
            $p->exec('SELEC 1');
            ok(false, 'PDO: syntax error reports 1064');
        } catch (PDOException $e) {
            eq($e->errorInfo[1] ?? null, 1064, 'PDO: syntax error reports 1064');
        }
        eq(pdo_value($p, 'SELECT 2'), 2, 'PDO: connection works after the error');
    });

    step('PDO: multi-statements', function () use ($HOST, $PORT, $USER, $PASS, $DB) {
        // multi-statements need the text protocol: emulated prepares
        $q = pdo_connect($HOST, $PORT, $USER, $PASS, $DB, [PDO::ATTR_EMULATE_PREPARES => true]);
        $st = $q->query("SELECT 1; SELECT 'two'; SELECT 3");
        $got = [];
        do {
            $got[] = $st->fetchColumn();
        } while ($st->nextRowset());
        $st->closeCursor();
        eq($got, [1, 'two', 3], 'PDO: multi-statements (emulated prepares): three result sets');
        eq($q->query('SELECT 4')->fetchColumn(), 4, 'PDO: connection works after multi-statements');
    });

    step('PDO: change of database', function () use ($p, $DB) {
        $p->exec('USE ' . OTHER_DB);
        eq(pdo_value($p, 'SELECT DATABASE()'), OTHER_DB, 'PDO: USE ' . OTHER_DB . ': SELECT DATABASE() returns it');
        $p->exec("USE $DB");
        eq(pdo_value($p, 'SELECT DATABASE()'), $DB, "PDO: USE $DB: SELECT DATABASE() returns it");
    });
    diag('PDO has no ping; mysqli covers it');

    step('PDO: cleanup', function () use ($p, $T, $R) {
        $p->exec("DROP TABLE IF EXISTS $T");
        $p->exec("DROP TABLE IF EXISTS $R");
    });
}

echo "# PHP " . PHP_VERSION . " mysqli and PDO against $HOST:$PORT user=$USER db=$DB\n";
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$direct = null;
step('direct connection to the shard primary', function () use (&$direct, $S0_PORT, $BUSER, $BPASS, $DB) {
    $direct = mysqli_connect_to('127.0.0.1', $S0_PORT, $BUSER, $BPASS, $DB);
});
if ($direct !== null) {
    test_mysqli($direct);
    test_pdo($direct);
    $direct->close();
}
echo "1..$n_checks\n";
if ($n_failed > 0) {
    diag("php: $n_failed of $n_checks failed");
    exit(1);
}
exit(0);
