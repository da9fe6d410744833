#!/usr/bin/env node
// node_test.js - the two pure-JavaScript drivers from npm, mysql2 and
// mariadb, against the server named by MYSHARD_HOST/PORT/USER/PASSWORD/DB:
// the driver checklist of tests/drivers/run.sh, once per driver (one TAP
// stream, the checks prefixed "mysql2:" and "mariadb:"). `execute` runs
// server-side prepared statements in both. The transaction is witnessed
// directly on the shard primary (127.0.0.1:S0_PRIMARY_PORT as BACKEND_USER).
// The modules are found through NODE_PATH (run.sh installs them outside the
// repository). TAP output; exit 1 on failure.
'use strict';

const crypto = require('crypto');
const util = require('util');

const HOST = process.env.MYSHARD_HOST || '127.0.0.1';
const PORT = Number(process.env.MYSHARD_PORT || 3306);
const USER = process.env.MYSHARD_USER || 'app';
const PASSWORD = process.env.MYSHARD_PASSWORD || 'app';
const DB = process.env.MYSHARD_DB || 'shop';
const S0_PORT = Number(process.env.S0_PRIMARY_PORT || 0);
const BUSER = process.env.BACKEND_USER || 'myshard';
const BPASS = process.env.BACKEND_PASSWORD || 'secret';

const OTHER_DB = 'appdb';
const NROWS = 20000;
const BIG_LEN = 17 * 1024 * 1024 + 321;
const UNICODE = '\u{1F600} \u6F22\u5B57 h\u00E9llo \u041F\u0440\u0438'; // 14 chars
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const BIG = crypto.randomBytes(BIG_LEN);
const BIG_MD5 = crypto.createHash('md5').update(BIG).digest('hex');
let WANT_SUM = 0;
for (let i = 1; i <= NROWS; i++) WANT_SUM += i % 113;

let nChecks = 0;
let nFailed = 0;

function diag(msg) {
  for (const line of String(msg).split('\n')) console.log('# ' + line);
}

function ok(cond, name) {
  nChecks++;
  if (!cond) nFailed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${nChecks} - ${name}`);
  return cond;
}

// BigInt -> Number, Buffer stays, arrays element-wise: drivers differ in
// how they type integers and decimals.
function norm(v) {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(norm);
  return v;
}

function eq(got, want, name) {
  const same = util.isDeepStrictEqual(norm(got), norm(want));
  if (!ok(same, name)) diag(`expected ${util.inspect(want)}, got ${util.inspect(got, { maxStringLength: 80 })}`);
  return same;
}

// Runs one checklist item; an exception is a failed check named after it.
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    ok(false, `${name} (raised)`);
    diag(`${e.code || ''} ${e.errno || ''}: ${e.message}`);
  }
}

// One driver behind a common face: text(sql) and exec(sql, args) return
// arrays of row arrays (or the OK result), stream(sql) an async iterable
// of row arrays.
async function suite(p, d) {
  const T = `drv_${d.tag}_t`;
  const R = `drv_${d.tag}_rows`;
  let c;
  let direct;
  await step(`${p}connect`, async () => {
    c = await d.connect({});
    direct = await d.connect({ host: '127.0.0.1', port: S0_PORT, user: BUSER, password: BPASS });
    ok(true, `${p}connect`);
  });
  if (!c || !direct) return;
  diag(`${d.name} ${d.version}`);

  await step(`${p}text query`, async () => {
    eq((await c.text("SELECT 1, 'it''s', 2.5"))[0], [1, "it's", '2.5'], `${p}text query: SELECT 1, 'it''s', 2.5`);
    await c.text(`DROP TABLE IF EXISTS ${T}`);
    await c.text(`CREATE TABLE ${T} (id INT PRIMARY KEY, s VARCHAR(100), b LONGBLOB, n INT) DEFAULT CHARSET=utf8mb4`);
    ok(true, `${p}text query: CREATE TABLE ${T}`);
  });

  await step(`${p}prepared statement`, async () => {
    eq((await c.exec("SELECT ? + ?, CONCAT(?, '!')", [40, 2, 'a\'b"c\\d']))[0].map(String), ['42', 'a\'b"c\\d!'],
      `${p}prepared statement (server-side, execute) with parameters`);
    eq(String((await c.exec("SELECT ? + ?, CONCAT(?, '!')", [1, 2, 'x']))[0][0]), '3',
      `${p}prepared statement executed twice`);
    eq(c.affected(await c.exec(`INSERT INTO ${T} (id, s, n) VALUES (?, ?, ?)`, [1, 'one', 7])), 1,
      `${p}prepared INSERT affects 1 row`);
    try {
      await c.exec('SELEC ?', [1]);
      ok(false, `${p}preparing bad SQL reports 1064`);
    } catch (e) {
      eq(e.errno, 1064, `${p}preparing bad SQL reports 1064`);
    }
  });

  await step(`${p}NULL`, async () => {
    await c.exec(`INSERT INTO ${T} (id, s, n) VALUES (?, ?, ?)`, [2, null, null]);
    eq((await c.exec(`SELECT s, n, n IS NULL FROM ${T} WHERE id = ?`, [2]))[0], [null, null, 1],
      `${p}NULL in (parameter) and out (column)`);
    eq((await c.text('SELECT NULL'))[0], [null], `${p}SELECT NULL is null (text)`);
  });

  await step(`${p}unicode and binary`, async () => {
    await c.exec(`INSERT INTO ${T} (id, s, b) VALUES (?, ?, ?)`, [3, UNICODE, BINARY]);
    const [s, clen, b, blen, bhex] = (await c.exec(
      `SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM ${T} WHERE id = ?`, [3]))[0];
    eq(s, UNICODE, `${p}unicode (emoji, CJK) round trip`);
    eq(clen, 14, `${p}server counts 14 characters`);
    ok(Buffer.isBuffer(b) && b.equals(BINARY), `${p}binary: all 256 byte values round trip`);
    eq([blen, bhex], [256, BINARY.toString('hex').toUpperCase()], `${p}binary: server sees the 256 bytes`);
    eq((await c.text(`SELECT s FROM ${T} WHERE id = 3`))[0], [UNICODE], `${p}unicode through the text protocol`);
  });

  await step(`${p}17 MB value`, async () => {
    eq(c.affected(await c.exec(`INSERT INTO ${T} (id, b) VALUES (?, ?)`, [4, BIG])), 1, `${p}17 MB value: INSERT`);
    eq((await c.text(`SELECT LENGTH(b), MD5(b) FROM ${T} WHERE id = 4`))[0], [BIG_LEN, BIG_MD5],
      `${p}17 MB value: server LENGTH and MD5 match the client's`);
    const got = (await c.exec(`SELECT b FROM ${T} WHERE id = ?`, [4]))[0][0];
    if (!ok(Buffer.isBuffer(got) && got.equals(BIG), `${p}17 MB value: reads back byte-identical`)) {
      diag(`got ${got && got.length} bytes`);
    }
  });

  await step(`${p}streamed result`, async () => {
    await c.text(`DROP TABLE IF EXISTS ${R}`);
    await c.text(`CREATE TABLE ${R} (id INT PRIMARY KEY, v INT, pad VARCHAR(32))`);
    await c.text(`INSERT INTO ${R} SELECT seq, MOD(seq, 113), CONCAT('pad', seq) FROM seq_1_to_${NROWS}`);
    let n = 0;
    let total = 0;
    let inOrder = 0;
    for await (const row of c.stream(`SELECT id, v, pad FROM ${R} ORDER BY id`)) {
      n++;
      total += row[1];
      if (row[0] === n && row[2] === `pad${n}`) inOrder++;
    }
    eq(n, NROWS, `${p}streamed result (${d.streamName}): 20,000 rows`);
    ok(inOrder === NROWS && total === WANT_SUM, `${p}streamed rows in order with the right values`);
    eq((await c.text(`SELECT COUNT(*) FROM ${R}`))[0], [NROWS], `${p}connection usable after the streamed result`);
  });

  await step(`${p}transaction`, async () => {
    const count = async (conn, id) => Number((await conn.text(`SELECT COUNT(*) FROM ${T} WHERE id = ${id}`))[0][0]);
    await c.text('BEGIN');
    await c.text(`INSERT INTO ${T} (id, s) VALUES (100, 'rolled back')`);
    eq(await count(c, 100), 1, `${p}transaction sees its own row`);
    eq(await count(direct, 100), 0, `${p}the shard primary does not see it before COMMIT`);
    await c.text('ROLLBACK');
    eq(await count(direct, 100), 0, `${p}ROLLBACK leaves nothing on the shard primary`);
    await c.text('BEGIN');
    await c.text(`INSERT INTO ${T} (id, s) VALUES (101, 'committed')`);
    await c.text('COMMIT');
    eq((await direct.text(`SELECT s FROM ${T} WHERE id = 101`))[0], ['committed'],
      `${p}COMMIT persists on the shard primary`);
  });

  await step(`${p}error`, async () => {
    try {
      await c.text('SELEC 1');
      ok(false, `${p}syntax error reports 1064`);
    } catch (e) {
      eq(e.errno, 1064, `${p}syntax error reports 1064`);
    }
    eq((await c.text('SELECT 2'))[0], [2], `${p}connection works after the error`);
  });

  await step(`${p}multi-statements`, async () => {
    const m = await d.connect({ multipleStatements: true });
    try {
      const sets = await m.multi("SELECT 1; SELECT 'two'; SELECT 3");
      eq(sets, [1, 'two', 3], `${p}multi-statements (multipleStatements: true): three result sets`);
      eq((await m.text('SELECT 4'))[0], [4], `${p}connection works after multi-statements`);
    } finally {
      await m.end();
    }
  });

  await step(`${p}ping`, async () => {
    await c.ping();
    ok(true, `${p}ping`);
  });

  await step(`${p}change of database`, async () => {
    await c.text(`USE ${OTHER_DB}`);
    eq((await c.text('SELECT DATABASE()'))[0], [OTHER_DB], `${p}USE ${OTHER_DB}: SELECT DATABASE() returns it`);
    await c.changeUser({ user: USER, password: PASSWORD, database: DB });
    eq((await c.text('SELECT DATABASE()'))[0], [DB], `${p}changeUser({database: ${DB}}): SELECT DATABASE() returns it`);
  });

  await step(`${p}cleanup`, async () => {
    try {
      await c.text(`DROP TABLE IF EXISTS ${T}`);
      await c.text(`DROP TABLE IF EXISTS ${R}`);
      await c.end();
      await direct.end();
    } finally {
      c.destroy();
      direct.destroy();
    }
  });
}

// ------------------------------------------------------------------ mysql2

function mysql2Driver() {
  const mysql = require('mysql2/promise');
  return {
    tag: 'mysql2',
    name: 'mysql2',
    version: require('mysql2/package.json').version,
    streamName: 'query().stream()',
    async connect(opts) {
      const conn = await mysql.createConnection({
        host: HOST, port: PORT, user: USER, password: PASSWORD, database: DB,
        charset: 'utf8mb4', connectTimeout: 10000, rowsAsArray: true,
        supportBigNumbers: true, ...opts,
      });
      return {
        async text(sql) { return (await conn.query(sql))[0]; },
        async exec(sql, args) { return (await conn.execute(sql, args))[0]; },
        affected(res) { return res.affectedRows; },
        async multi(sql) { return (await conn.query(sql))[0].map((rows) => rows[0][0]); },
        stream(sql) { return conn.connection.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 64 }); },
        ping() { return conn.ping(); },
        changeUser(o) { return conn.changeUser(o); },
        end() { return conn.end(); },
        destroy() { conn.destroy(); },
      };
    },
  };
}

// ----------------------------------------------------------------- mariadb

function mariadbDriver() {
  const mariadb = require('mariadb');
  return {
    tag: 'mariadbjs',
    name: 'mariadb',
    version: mariadb.version,
    streamName: 'queryStream',
    async connect(opts) {
      const conn = await mariadb.createConnection({
        host: HOST, port: PORT, user: USER, password: PASSWORD, database: DB,
        charset: 'utf8mb4', connectTimeout: 10000, rowsAsArray: true, ...opts,
      });
      return {
        text(sql) { return conn.query(sql); },
        exec(sql, args) { return conn.execute(sql, args); },
        affected(res) { return Number(res.affectedRows); },
        async multi(sql) { return (await conn.query(sql)).map((rows) => rows[0][0]); },
        stream(sql) { return conn.queryStream({ sql, rowsAsArray: true }); },
        ping() { return conn.ping(); },
        changeUser(o) { return conn.changeUser(o); },
        end() { return conn.end(); },
        destroy() { conn.destroy(); },
      };
    },
  };
}

async function main() {
  console.log(`# node ${process.version}: mysql2 and mariadb against ${HOST}:${PORT} user=${USER} db=${DB}`);
  for (const [prefix, make] of [['mysql2: ', mysql2Driver], ['mariadb: ', mariadbDriver]]) {
    let d;
    try {
      d = make();
    } catch (e) {
      ok(false, `${prefix}load the driver (raised)`);
      diag(e.message);
      continue;
    }
    await suite(prefix, d);
  }
  console.log(`1..${nChecks}`);
  if (nFailed) diag(`node: ${nFailed} of ${nChecks} failed`);
  // a connection left open by a failed step must not keep node alive
  process.exit(nFailed ? 1 : 0);
}

main().catch((e) => {
  ok(false, `unexpected error: ${e.message}`);
  console.log(`1..${nChecks}`);
  process.exit(1);
});
