#!/usr/bin/ruby
# frozen_string_literal: true

# ruby_test.rb - Ruby's mysql2 gem (on libmariadb) against the server named
# by MYSHARD_HOST/PORT/USER/PASSWORD/DB: the driver checklist of
# tests/drivers/run.sh. Client#prepare runs server-side prepared
# statements. The transaction is witnessed directly on the shard primary
# (127.0.0.1:S0_PRIMARY_PORT as BACKEND_USER). TAP output; exit 1 on failure.

require 'digest'
require 'mysql2'

def env(name, default)
  v = ENV.fetch(name, '')
  v.empty? ? default : v
end

HOST = env('MYSHARD_HOST', '127.0.0.1')
PORT = env('MYSHARD_PORT', '3306').to_i
USER = env('MYSHARD_USER', 'app')
PASSWORD = env('MYSHARD_PASSWORD', 'app')
DB = env('MYSHARD_DB', 'shop')
S0_PORT = env('S0_PRIMARY_PORT', '0').to_i
BUSER = env('BACKEND_USER', 'myshard')
BPASS = env('BACKEND_PASSWORD', 'secret')

OTHER_DB = 'appdb'
T = 'drv_ruby_t'
R = 'drv_ruby_rows'
NROWS = 20_000
BIG_LEN = 17 * 1024 * 1024 + 321
UNICODE = "\u{1F600} \u6F22\u5B57 h\u00E9llo \u041F\u0440\u0438" # 14 chars
BINARY = (0..255).to_a.pack('C*')

$stdout.sync = true
$n_checks = 0
$n_failed = 0

def diag(msg)
  msg.to_s.each_line { |line| puts "# #{line.chomp}" }
end

def ok(cond, name)
  $n_checks += 1
  $n_failed += 1 unless cond
  puts "#{cond ? 'ok' : 'not ok'} #{$n_checks} - #{name}"
  cond
end

def eq(got, want, name)
  same = got == want
  diag("expected #{want.inspect[0, 200]}, got #{got.inspect[0, 200]}") unless ok(same, name)
  same
end

# Runs one checklist item; an exception is a failed check named after it.
def step(name)
  yield
rescue StandardError => e
  ok(false, "#{name} (raised)")
  diag("#{e.class}#{e.respond_to?(:error_number) ? " #{e.error_number}" : ''}: #{e.message}")
end

def connect(**opts)
  Mysql2::Client.new(host: HOST, port: PORT, username: USER, password: PASSWORD, database: DB,
                     encoding: 'utf8mb4', connect_timeout: 10, **opts)
end

def value(client, sql)
  row = client.query(sql, as: :array).first
  row && row[0]
end

puts "# ruby #{RUBY_VERSION} mysql2 #{Mysql2::VERSION} (#{Mysql2::Client.info[:version]}) " \
     "against #{HOST}:#{PORT} user=#{USER} db=#{DB}"

c = direct = nil
step('connect') do
  c = connect
  direct = Mysql2::Client.new(host: '127.0.0.1', port: S0_PORT, username: BUSER, password: BPASS,
                              database: DB, encoding: 'utf8mb4', connect_timeout: 10)
  ok(true, 'connect')
end
unless c && direct
  puts "1..#{$n_checks}"
  exit 1
end

step('text query') do
  a, b, d = c.query("SELECT 1, 'it''s', 2.5", as: :array).first
  eq([a, b, d.to_f], [1, "it's", 2.5],
     "text query: SELECT 1, 'it''s', 2.5")
  c.query("DROP TABLE IF EXISTS #{T}")
  c.query("CREATE TABLE #{T} (id INT PRIMARY KEY, s VARCHAR(100), b LONGBLOB, n INT) DEFAULT CHARSET=utf8mb4")
  ok(true, "text query: CREATE TABLE #{T}")
end

step('prepared statement') do
  st = c.prepare("SELECT ? + ?, CONCAT(?, '!')")
  eq(st.execute(40, 2, "a'b\"c\\d", as: :array).first, [42, "a'b\"c\\d!"],
     'prepared statement (server-side) with parameters')
  eq(st.execute(1, 2, 'x', as: :array).first[0], 3, 'prepared statement executed twice')
  st.close
  st = c.prepare("INSERT INTO #{T} (id, s, n) VALUES (?, ?, ?)")
  st.execute(1, 'one', 7)
  eq(st.affected_rows, 1, 'prepared INSERT affects 1 row')
  st.close
  begin
    c.prepare('SELEC ?')
    ok(false, 'preparing bad SQL reports 1064')
  rescue Mysql2::Error => e
    eq(e.error_number, 1064, 'preparing bad SQL reports 1064')
  end
end

step('NULL') do
  st = c.prepare("INSERT INTO #{T} (id, s, n) VALUES (?, ?, ?)")
  st.execute(2, nil, nil)
  st.close
  st = c.prepare("SELECT s, n, n IS NULL FROM #{T} WHERE id = ?")
  eq(st.execute(2, as: :array).first, [nil, nil, 1], 'NULL in (parameter) and out (column)')
  st.close
  eq(value(c, 'SELECT NULL'), nil, 'SELECT NULL is nil (text)')
end

step('unicode and binary') do
  st = c.prepare("INSERT INTO #{T} (id, s, b) VALUES (?, ?, ?)")
  st.execute(3, UNICODE, BINARY)
  st.close
  st = c.prepare("SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM #{T} WHERE id = ?")
  s, clen, b, blen, bhex = st.execute(3, as: :array).first
  st.close
  eq(s, UNICODE, 'unicode (emoji, CJK) round trip')
  eq(clen, 14, 'server counts 14 characters')
  ok(b.b == BINARY, 'binary: all 256 byte values round trip')
  eq([blen, bhex], [256, BINARY.unpack1('H*').upcase], 'binary: server sees the 256 bytes')
  eq(value(c, "SELECT s FROM #{T} WHERE id = 3"), UNICODE, 'unicode through the text protocol')
  eq(value(c, "SELECT '#{c.escape(BINARY)}'").b, BINARY, 'binary as an escaped literal')
end

step('17 MB value') do
  big = Random.new(17).bytes(BIG_LEN)
  st = c.prepare("INSERT INTO #{T} (id, b) VALUES (?, ?)")
  st.execute(4, big)
  eq(st.affected_rows, 1, '17 MB value: INSERT')
  st.close
  eq(c.query("SELECT LENGTH(b), MD5(b) FROM #{T} WHERE id = 4", as: :array).first,
     [BIG_LEN, Digest::MD5.hexdigest(big)], "17 MB value: server LENGTH and MD5 match the client's")
  st = c.prepare("SELECT b FROM #{T} WHERE id = ?")
  got = st.execute(4, as: :array).first[0]
  st.close
  diag("got #{got&.bytesize} bytes") unless ok(got&.b == big, '17 MB value: reads back byte-identical')
end

step('streamed result') do
  c.query("DROP TABLE IF EXISTS #{R}")
  c.query("CREATE TABLE #{R} (id INT PRIMARY KEY, v INT, pad VARCHAR(32))")
  c.query("INSERT INTO #{R} SELECT seq, MOD(seq, 113), CONCAT('pad', seq) FROM seq_1_to_#{NROWS}")
  n = total = in_order = 0
  c.query("SELECT id, v, pad FROM #{R} ORDER BY id", stream: true, cache_rows: false, as: :array).each do |row|
    n += 1
    total += row[1]
    in_order += 1 if row[0] == n && row[2] == "pad#{n}"
  end
  eq(n, NROWS, 'streamed result (stream: true): 20,000 rows')
  ok(in_order == NROWS && total == (1..NROWS).sum { |i| i % 113 }, 'streamed rows in order with the right values')
  eq(value(c, "SELECT COUNT(*) FROM #{R}"), NROWS, 'connection usable after the streamed result')
end

step('transaction') do
  c.query('BEGIN')
  c.query("INSERT INTO #{T} (id, s) VALUES (100, 'rolled back')")
  eq(value(c, "SELECT COUNT(*) FROM #{T} WHERE id = 100"), 1, 'transaction sees its own row')
  eq(value(direct, "SELECT COUNT(*) FROM #{T} WHERE id = 100"), 0, 'the shard primary does not see it before COMMIT')
  c.query('ROLLBACK')
  eq(value(direct, "SELECT COUNT(*) FROM #{T} WHERE id = 100"), 0, 'ROLLBACK leaves nothing on the shard primary')
  c.query('BEGIN')
  c.query("INSERT INTO #{T} (id, s) VALUES (101, 'committed')")
  c.query('COMMIT')
  eq(value(direct, "SELECT s FROM #{T} WHERE id = 101"), 'committed', 'COMMIT persists on the shard primary')
end

step('error') do
  begin
    c.query('SELEC 1')
    ok(false, 'syntax error reports 1064')
  rescue Mysql2::Error => e
    eq(e.error_number, 1064, 'syntax error reports 1064')
  end
  eq(value(c, 'SELECT 2'), 2, 'connection works after the error')
end

step('multi-statements') do
  m = connect(flags: Mysql2::Client::MULTI_STATEMENTS)
  begin
    got = [m.query("SELECT 1; SELECT 'two'; SELECT 3", as: :array).first[0]]
    got << m.store_result.to_a(as: :array).first[0] while m.next_result
    eq(got, [1, 'two', 3], 'multi-statements (MULTI_STATEMENTS): three result sets')
    eq(value(m, 'SELECT 4'), 4, 'connection works after multi-statements')
  ensure
    m.close
  end
end

step('ping') { ok(c.ping, 'ping') }

step('change of database') do
  c.select_db(OTHER_DB)
  eq(value(c, 'SELECT DATABASE()'), OTHER_DB, "select_db(#{OTHER_DB}): SELECT DATABASE() returns it")
  c.query("USE #{DB}")
  eq(value(c, 'SELECT DATABASE()'), DB, "USE #{DB}: SELECT DATABASE() returns it")
end

step('cleanup') do
  c.query("DROP TABLE IF EXISTS #{T}")
  c.query("DROP TABLE IF EXISTS #{R}")
  c.close
  direct.close
end

puts "1..#{$n_checks}"
diag("ruby: #{$n_failed} of #{$n_checks} failed") if $n_failed.positive?
exit($n_failed.positive? ? 1 : 0)
