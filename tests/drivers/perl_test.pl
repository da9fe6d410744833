#!/usr/bin/perl
# perl_test.pl - Perl DBI with DBD::MariaDB (on libmariadb) against the
# server named by MYSHARD_HOST/PORT/USER/PASSWORD/DB: the driver checklist
# of tests/drivers/run.sh. Statements are prepared on the server
# (mariadb_server_prepare=1) except the multi-statement batch. The
# transaction is witnessed directly on the shard primary
# (127.0.0.1:S0_PRIMARY_PORT as BACKEND_USER). TAP output; exit 1 on failure.
use strict;
use warnings;
use utf8;
use DBI qw(:sql_types);
use DBD::MariaDB;
use Digest::MD5 qw(md5_hex);
use POSIX ();

binmode STDOUT, ':encoding(UTF-8)';
$| = 1;

my $HOST    = $ENV{MYSHARD_HOST}     || '127.0.0.1';
my $PORT    = $ENV{MYSHARD_PORT}     || 3306;
my $USER    = $ENV{MYSHARD_USER}     || 'app';
my $PASS    = $ENV{MYSHARD_PASSWORD} || 'app';
my $DB      = $ENV{MYSHARD_DB}       || 'shop';
my $S0_PORT = $ENV{S0_PRIMARY_PORT}  || 0;
my $BUSER   = $ENV{BACKEND_USER}     || 'myshard';
my $BPASS   = $ENV{BACKEND_PASSWORD} || 'secret';

my $OTHER_DB = 'appdb';
my $T        = 'drv_perl_t';
my $R        = 'drv_perl_rows';
my $NROWS    = 20000;
my $BIG_LEN  = 17 * 1024 * 1024 + 321;
my $UNICODE  = "\x{1F600} \x{6F22}\x{5B57} h\x{E9}llo \x{41F}\x{440}\x{438}";   # 14 chars
my $BINARY   = join '', map { chr } 0 .. 255;

my ($n_checks, $n_failed) = (0, 0);

sub diag {
    my ($msg) = @_;
    print "# $_\n" for split /\n/, $msg;
}

sub ok {
    my ($cond, $name) = @_;
    $n_checks++;
    $n_failed++ unless $cond;
    print(($cond ? 'ok' : 'not ok') . " $n_checks - $name\n");
    return $cond;
}

sub todo {
    my ($name, $why) = @_;
    $n_checks++;
    print "not ok $n_checks - $name # TODO $why\n";
}

sub show {
    my ($v) = @_;
    return 'undef' unless defined $v;
    return '[' . join(', ', map { show($_) } @$v) . ']' if ref $v eq 'ARRAY';
    return length($v) > 80 ? sprintf('<%d chars>', length $v) : "'$v'";
}

sub eq_ {
    my ($got, $want, $name) = @_;
    my $same = show($got) eq show($want);
    ok($same, $name) or diag('expected ' . show($want) . ', got ' . show($got));
    return $same;
}

# Runs one checklist item; an exception is a failed check named after it.
sub step {
    my ($name, $fn) = @_;
    eval { $fn->(); 1 } or do {
        my $err = $@ || 'unknown error';
        ok(0, "$name (raised)");
        diag($err);
    };
}

sub connect_to {
    my ($host, $port, $user, $pass, $db, %attr) = @_;
    my $dsn = "DBI:MariaDB:database=$db;host=$host;port=$port;mariadb_connect_timeout=10";
    return DBI->connect($dsn, $user, $pass,
        { RaiseError => 1, PrintError => 0, AutoCommit => 1, %attr });
}

sub value {
    my ($dbh, $sql, @args) = @_;
    my ($v) = $dbh->selectrow_array($sql, undef, @args);
    return $v;
}

print "# DBI $DBI::VERSION DBD::MariaDB $DBD::MariaDB::VERSION against $HOST:$PORT user=$USER db=$DB\n";

my ($dbh, $direct);
step('connect', sub {
    $dbh    = connect_to($HOST, $PORT, $USER, $PASS, $DB, mariadb_server_prepare => 1);
    $direct = connect_to('127.0.0.1', $S0_PORT, $BUSER, $BPASS, $DB);
    ok(1, 'connect (mariadb_server_prepare=1)');
});
unless ($dbh && $direct) {
    print "1..$n_checks\n";
    exit 1;
}

step('text query', sub {
    eq_([$dbh->selectrow_array(q{SELECT 1, 'it''s', 2.5})], [1, "it's", '2.5'],
        q{text query: SELECT 1, 'it''s', 2.5});
    $dbh->do("DROP TABLE IF EXISTS $T");
    $dbh->do("CREATE TABLE $T (id INT PRIMARY KEY, s VARCHAR(100), b LONGBLOB, n INT) DEFAULT CHARSET=utf8mb4");
    ok(1, "text query: CREATE TABLE $T");
});

step('prepared statement', sub {
    my $sth = $dbh->prepare(q{SELECT ? + ?, CONCAT(?, '!')});
    $sth->bind_param(1, 40, SQL_INTEGER);
    $sth->bind_param(2, 2,  SQL_INTEGER);
    $sth->bind_param(3, qq{a'b"c\\d});
    $sth->execute;
    eq_([$sth->fetchrow_array], [42, qq{a'b"c\\d!}], 'prepared statement (server-side) with parameters');
    $sth->finish;
    $sth->execute(1, 2, 'x');
    eq_(($sth->fetchrow_array)[0], 3, 'prepared statement executed twice');
    $sth->finish;
    my $n = $dbh->do("INSERT INTO $T (id, s, n) VALUES (?, ?, ?)", undef, 1, 'one', 7);
    eq_($n, 1, 'prepared INSERT affects 1 row');
    eval { $dbh->prepare('SELEC ?')->execute(1) };
    eq_($dbh->err, 1064, 'preparing bad SQL reports 1064');
});

step('NULL', sub {
    $dbh->do("INSERT INTO $T (id, s, n) VALUES (?, ?, ?)", undef, 2, undef, undef);
    eq_([$dbh->selectrow_array("SELECT s, n, n IS NULL FROM $T WHERE id = ?", undef, 2)],
        [undef, undef, 1], 'NULL in (parameter) and out (column)');
    eq_(value($dbh, 'SELECT NULL'), undef, 'SELECT NULL is undef');
});

step('unicode and binary', sub {
    my $sth = $dbh->prepare("INSERT INTO $T (id, s, b) VALUES (?, ?, ?)");
    $sth->bind_param(1, 3, SQL_INTEGER);
    $sth->bind_param(2, $UNICODE);
    $sth->bind_param(3, $BINARY, SQL_BLOB);
    $sth->execute;
    my ($s, $clen, $b, $blen, $bhex) = $dbh->selectrow_array(
        "SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM $T WHERE id = ?", undef, 3);
    eq_($s,    $UNICODE, 'unicode (emoji, CJK) round trip');
    eq_($clen, 14,       'server counts 14 characters');
    ok(defined $b && $b eq $BINARY, 'binary: all 256 byte values round trip');
    eq_([$blen, $bhex], [256, uc unpack('H*', $BINARY)], 'binary: server sees the 256 bytes');
});

step('17 MB value', sub {
    srand(17);
    my $big = pack('N*', map { int rand 4294967296 } 1 .. ($BIG_LEN + 3) / 4);
    $big = substr($big, 0, $BIG_LEN);
    my $sth = $dbh->prepare("INSERT INTO $T (id, b) VALUES (?, ?)");
    $sth->bind_param(1, 4, SQL_INTEGER);
    $sth->bind_param(2, $big, SQL_BLOB);
    eq_($sth->execute, 1, '17 MB value: INSERT');
    eq_([$dbh->selectrow_array("SELECT LENGTH(b), MD5(b) FROM $T WHERE id = ?", undef, 4)],
        [$BIG_LEN, md5_hex($big)], "17 MB value: server LENGTH and MD5 match the client's");
    my $got = value($dbh, "SELECT b FROM $T WHERE id = ?", 4);
    ok(defined $got && $got eq $big, '17 MB value: reads back byte-identical')
        or diag('got ' . length($got // '') . ' bytes');
});

step('streamed result', sub {
    $dbh->do("DROP TABLE IF EXISTS $R");
    $dbh->do("CREATE TABLE $R (id INT PRIMARY KEY, v INT, pad VARCHAR(32))");
    $dbh->do("INSERT INTO $R SELECT seq, MOD(seq, 113), CONCAT('pad', seq) FROM seq_1_to_$NROWS");
    my $want = 0;
    $want += $_ % 113 for 1 .. $NROWS;
    my $read = sub {
        my ($sth) = @_;
        my ($n, $total, $in_order) = (0, 0, 0);
        while (my $row = $sth->fetchrow_arrayref) {
            $n++;
            $total += $row->[1];
            $in_order++ if $row->[0] == $n && $row->[2] eq "pad$n";
        }
        return ($n, $in_order == $n && $total == $want);
    };
    # In a child process of its own: DBD::MariaDB before 1.23 returns no rows
    # with mariadb_use_result, leaves the connection out of sync and then
    # spins when the handle is destroyed.
    my ($n, $good, $after) = (0, 0, -1);
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        close $rd;
        alarm 60;
        $SIG{__WARN__} = sub { };    # the out-of-sync handle's DESTROY complains
        my @res = eval {
            my $s = connect_to($HOST, $PORT, $USER, $PASS, $DB);
            my $sth = $s->prepare("SELECT id, v, pad FROM $R ORDER BY id", { mariadb_use_result => 1 });
            $sth->execute;
            my @r = $read->($sth);
            if ($r[0] == $NROWS) {
                $sth = $s->prepare("SELECT id FROM $R ORDER BY id", { mariadb_use_result => 1 });
                $sth->execute;
                $sth->fetchrow_arrayref for 1 .. 5;
                $sth->finish;
                push @r, value($s, "SELECT COUNT(*) FROM $R");
            }
            @r;
        };
        print {$wr} join(' ', @res ? @res : ('error', $@ =~ s/\s+/ /gr)), "\n";
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    my $line = <$rd> // 'error: no answer from the streaming child';
    close $rd;
    waitpid $pid, 0;
    chomp $line;
    if ($line =~ /^error/) {
        ok(0, 'streamed result (mariadb_use_result): 20,000 rows');
        diag($line);
        return;
    }
    ($n, $good, $after) = split / /, $line;
    $after //= -1;
    if ($n == 0 && $DBD::MariaDB::VERSION < 1.23) {
        todo('streamed result (mariadb_use_result): 20,000 rows',
            "DBD::MariaDB $DBD::MariaDB::VERSION returns no rows with mariadb_use_result"
                . ' (perl5-dbi/DBD-MariaDB#173, fixed in 1.23)');
        # the 20,000 rows through a prepared statement, stored
        my $sth = $dbh->prepare("SELECT id, v, pad FROM $R WHERE id > ? ORDER BY id");
        $sth->execute(0);
        ($n, $good) = $read->($sth);
        eq_($n, $NROWS, 'large result (prepared, stored): 20,000 rows');
        ok($good, 'large result rows in order with the right values');
    } else {
        eq_($n, $NROWS, 'streamed result (mariadb_use_result): 20,000 rows');
        ok($good, 'streamed rows in order with the right values');
        eq_($after, $NROWS, 'connection usable after finishing a streamed result early');
    }
});

step('transaction', sub {
    $dbh->do('BEGIN');
    $dbh->do("INSERT INTO $T (id, s) VALUES (100, 'rolled back')");
    eq_(value($dbh, "SELECT COUNT(*) FROM $T WHERE id = 100"), 1, 'transaction sees its own row');
    eq_(value($direct, "SELECT COUNT(*) FROM $T WHERE id = 100"), 0, 'the shard primary does not see it before COMMIT');
    $dbh->do('ROLLBACK');
    eq_(value($direct, "SELECT COUNT(*) FROM $T WHERE id = 100"), 0, 'ROLLBACK leaves nothing on the shard primary');
    $dbh->begin_work;
    $dbh->do("INSERT INTO $T (id, s) VALUES (101, 'committed')");
    $dbh->commit;
    eq_(value($direct, "SELECT s FROM $T WHERE id = 101"), 'committed', 'COMMIT persists on the shard primary');
});

step('error', sub {
    my $r = eval { $dbh->do('SELEC 1'); 1 };
    ok(!$r, 'syntax error raises');
    eq_($dbh->err, 1064, 'syntax error reports 1064');
    eq_(value($dbh, 'SELECT 2'), 2, 'connection works after the error');
});

step('multi-statements', sub {
    my $m = connect_to($HOST, $PORT, $USER, $PASS, $DB, mariadb_multi_statements => 1);
    my $sth = $m->prepare(q{SELECT 1; SELECT 'two'; SELECT 3});
    $sth->execute;
    my @got;
    do {
        while (my $row = $sth->fetchrow_arrayref) { push @got, $row->[0] }
    } while ($sth->more_results);
    eq_(\@got, [1, 'two', 3], 'multi-statements: three result sets');
    eq_(value($m, 'SELECT 4'), 4, 'connection works after multi-statements');
    $m->disconnect;
});

step('ping', sub {
    ok($dbh->ping, 'ping');
});

step('change of database', sub {
    $dbh->do("USE $OTHER_DB");
    eq_(value($dbh, 'SELECT DATABASE()'), $OTHER_DB, "USE $OTHER_DB: SELECT DATABASE() returns it");
    $dbh->do("USE $DB");
    eq_(value($dbh, 'SELECT DATABASE()'), $DB, "USE $DB: SELECT DATABASE() returns it");
});

step('cleanup', sub {
    $dbh->do("DROP TABLE IF EXISTS $_") for ($T, $R);
    $dbh->disconnect;
    $direct->disconnect;
});

print "1..$n_checks\n";
if ($n_failed) {
    diag("perl: $n_failed of $n_checks failed");
    exit 1;
}
exit 0;
