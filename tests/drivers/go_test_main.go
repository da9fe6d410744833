// go_test_main.go - go-sql-driver/mysql (pure Go, database/sql) against the
// server named by MYSHARD_HOST/PORT/USER/PASSWORD/DB: the driver checklist
// of tests/drivers/run.sh. Queries with arguments use server-side prepared
// statements (the driver's default, interpolateParams=false). The
// transaction is witnessed directly on the shard primary
// (127.0.0.1:S0_PRIMARY_PORT as BACKEND_USER). TAP output; exit 1 on
// failure.
//
// Run: GOPATH=/usr/share/gocode GO111MODULE=off go run tests/drivers/go_test_main.go
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

const (
	tbl     = "drv_go_t"
	tblRows = "drv_go_rows"
	nRows   = 20000
	bigLen  = 17*1024*1024 + 321
	otherDB = "appdb"
	unicode = "\U0001F600 \u6F22\u5B57 h\u00E9llo \u041F\u0440\u0438" // 14 chars
)

var (
	nChecks, nFailed int
	ctx              = context.Background()
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func diag(format string, a ...interface{}) {
	for _, line := range strings.Split(fmt.Sprintf(format, a...), "\n") {
		fmt.Printf("# %s\n", line)
	}
}

func ok(cond bool, name string) bool {
	nChecks++
	if cond {
		fmt.Printf("ok %d - %s\n", nChecks, name)
	} else {
		nFailed++
		fmt.Printf("not ok %d - %s\n", nChecks, name)
	}
	return cond
}

func eq(got, want interface{}, name string) bool {
	g, w := fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want)
	if !ok(g == w, name) {
		diag("expected %s, got %s", w, g)
		return false
	}
	return true
}

// noErr reports a failed check when err is set; true when it is not.
func noErr(err error, name string) bool {
	if err != nil {
		ok(false, name)
		diag("error: %v", err)
		return false
	}
	return true
}

func dsn(user, pass, host, port, db, params string) string {
	return fmt.Sprintf("%s:%s@tcp(%s:%s)/%s?charset=utf8mb4&timeout=10s&%s",
		user, pass, host, port, db, params)
}

func scalar(q interface {
	QueryRow(string, ...interface{}) *sql.Row
}, query string, args ...interface{}) (string, error) {
	var v sql.NullString
	if err := q.QueryRow(query, args...).Scan(&v); err != nil {
		return "", err
	}
	if !v.Valid {
		return "NULL", nil
	}
	return v.String, nil
}

func main() {
	host := env("MYSHARD_HOST", "127.0.0.1")
	port := env("MYSHARD_PORT", "3306")
	user := env("MYSHARD_USER", "app")
	pass := env("MYSHARD_PASSWORD", "app")
	db := env("MYSHARD_DB", "shop")
	fmt.Printf("# go-sql-driver/mysql (%s) against %s:%s user=%s db=%s\n",
		runtime.Version(), host, port, user, db)

	pool, err := sql.Open("mysql", dsn(user, pass, host, port, db, ""))
	if err == nil {
		err = pool.PingContext(ctx)
	}
	direct, err2 := sql.Open("mysql", dsn(env("BACKEND_USER", "myshard"),
		env("BACKEND_PASSWORD", "secret"), "127.0.0.1",
		env("S0_PRIMARY_PORT", "0"), db, ""))
	if err == nil && err2 == nil {
		err = direct.PingContext(ctx)
	} else if err == nil {
		err = err2
	}
	if !noErr(err, "connect") {
		finish()
	}
	ok(true, "connect")
	pool.SetMaxIdleConns(4)

	textQuery(pool)
	prepared(pool)
	nulls(pool)
	unicodeBinary(pool)
	big(pool, "default DSN: long data", 4)
	bigPool, err := sql.Open("mysql", dsn(user, pass, host, port, db, "maxAllowedPacket=0"))
	if noErr(err, "connect with maxAllowedPacket=0") {
		big(bigPool, "maxAllowedPacket=0: inline", 5)
		bigPool.Close()
	}
	stream(pool)
	transaction(pool, direct)
	errorCase(pool)
	multi(user, pass, host, port, db)
	pingAndUse(pool, db)

	for _, t := range []string{tbl, tblRows} {
		if _, err := pool.Exec("DROP TABLE IF EXISTS " + t); err != nil {
			noErr(err, "cleanup: DROP TABLE "+t)
		}
	}
	pool.Close()
	direct.Close()
	finish()
}

func finish() {
	fmt.Printf("1..%d\n", nChecks)
	if nFailed > 0 {
		diag("go: %d of %d failed", nFailed, nChecks)
		os.Exit(1)
	}
	os.Exit(0)
}

func textQuery(pool *sql.DB) {
	var a int
	var b string
	var c float64
	err := pool.QueryRow("SELECT 1, 'it''s', 2.5").Scan(&a, &b, &c)
	if noErr(err, "text query: SELECT 1, 'it''s', 2.5") {
		eq([]interface{}{a, b, c}, []interface{}{1, "it's", 2.5},
			"text query: SELECT 1, 'it''s', 2.5")
	}
	_, err = pool.Exec("DROP TABLE IF EXISTS " + tbl)
	if err == nil {
		_, err = pool.Exec("CREATE TABLE " + tbl + " (id INT PRIMARY KEY, " +
			"s VARCHAR(100), b LONGBLOB, n INT) DEFAULT CHARSET=utf8mb4")
	}
	if noErr(err, "text query: CREATE TABLE "+tbl) {
		ok(true, "text query: CREATE TABLE "+tbl)
	}
}

func prepared(pool *sql.DB) {
	st, err := pool.Prepare("SELECT ? + ?, CONCAT(?, '!')")
	if !noErr(err, "prepared statement (server-side)") {
		return
	}
	defer st.Close()
	var sum int
	var s string
	err = st.QueryRow(40, 2, "a'b\"c\\d").Scan(&sum, &s)
	if noErr(err, "prepared statement (server-side)") {
		eq([]interface{}{sum, s}, []interface{}{42, "a'b\"c\\d!"},
			"prepared statement (server-side) with parameters")
	}
	err = st.QueryRow(1, 2, "x").Scan(&sum, &s)
	if noErr(err, "prepared statement executed twice") {
		eq(sum, 3, "prepared statement executed twice")
	}
	res, err := pool.Exec("INSERT INTO "+tbl+" (id, s, n) VALUES (?, ?, ?)", 1, "one", 7)
	if noErr(err, "prepared INSERT affects 1 row") {
		n, _ := res.RowsAffected()
		eq(n, int64(1), "prepared INSERT affects 1 row")
	}
	_, err = pool.Prepare("SELEC ?")
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		eq(me.Number, uint16(1064), "preparing bad SQL reports 1064")
	} else {
		ok(false, "preparing bad SQL reports 1064")
		diag("error: %v", err)
	}
}

func nulls(pool *sql.DB) {
	_, err := pool.Exec("INSERT INTO "+tbl+" (id, s, n) VALUES (?, ?, ?)", 2, nil, nil)
	if !noErr(err, "NULL in (parameter) and out (column)") {
		return
	}
	var s sql.NullString
	var n sql.NullInt64
	var isNull int
	err = pool.QueryRow("SELECT s, n, n IS NULL FROM "+tbl+" WHERE id = ?", 2).Scan(&s, &n, &isNull)
	if noErr(err, "NULL in (parameter) and out (column)") {
		ok(!s.Valid && !n.Valid && isNull == 1, "NULL in (parameter) and out (column)")
	}
	v, err := scalar(pool, "SELECT NULL")
	if noErr(err, "SELECT NULL is NULL (text)") {
		eq(v, "NULL", "SELECT NULL is NULL (text)")
	}
	var isnull int
	err = pool.QueryRow("SELECT ? IS NULL", nil).Scan(&isnull)
	if noErr(err, "NULL parameter: ? IS NULL") {
		eq(isnull, 1, "NULL parameter: ? IS NULL")
	}
}

func unicodeBinary(pool *sql.DB) {
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	_, err := pool.Exec("INSERT INTO "+tbl+" (id, s, b) VALUES (?, ?, ?)", 3, unicode, bin)
	if !noErr(err, "unicode and binary: prepared INSERT") {
		return
	}
	var s, bhex string
	var b []byte
	var clen, blen int
	err = pool.QueryRow("SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM "+tbl+" WHERE id = ?", 3).
		Scan(&s, &clen, &b, &blen, &bhex)
	if !noErr(err, "unicode and binary: SELECT") {
		return
	}
	eq(s, unicode, "unicode (emoji, CJK) round trip")
	eq(clen, 14, "server counts 14 characters")
	ok(bytes.Equal(b, bin), "binary: all 256 byte values round trip")
	eq([]interface{}{blen, bhex}, []interface{}{256, strings.ToUpper(hex.EncodeToString(bin))},
		"binary: server sees the 256 bytes")
	var ts string
	err = pool.QueryRow("SELECT s FROM " + tbl + " WHERE id = 3").Scan(&ts)
	if noErr(err, "unicode through the text protocol") {
		eq(ts, unicode, "unicode through the text protocol")
	}
}

func big(pool *sql.DB, how string, id int) {
	data := make([]byte, bigLen)
	rand.New(rand.NewSource(17)).Read(data)
	sum := md5.Sum(data)
	want := hex.EncodeToString(sum[:])
	_, err := pool.Exec("INSERT INTO "+tbl+" (id, b) VALUES (?, ?)", id, data)
	if !noErr(err, "17 MB value ("+how+"): INSERT") {
		return
	}
	ok(true, "17 MB value ("+how+"): INSERT")
	var blen int
	var bmd5 string
	err = pool.QueryRow("SELECT LENGTH(b), MD5(b) FROM "+tbl+" WHERE id = ?", id).Scan(&blen, &bmd5)
	if noErr(err, "17 MB value: server LENGTH and MD5") {
		eq([]interface{}{blen, bmd5}, []interface{}{bigLen, want},
			"17 MB value ("+how+"): server LENGTH and MD5 match the client's")
	}
	var got []byte
	err = pool.QueryRow("SELECT b FROM "+tbl+" WHERE id = ?", id).Scan(&got)
	if noErr(err, "17 MB value: read back") {
		if !ok(bytes.Equal(got, data), "17 MB value ("+how+"): reads back byte-identical") {
			diag("got %d bytes", len(got))
		}
	}
}

func stream(pool *sql.DB) {
	_, err := pool.Exec("DROP TABLE IF EXISTS " + tblRows)
	if err == nil {
		_, err = pool.Exec("CREATE TABLE " + tblRows + " (id INT PRIMARY KEY, v INT, pad VARCHAR(32))")
	}
	if err == nil {
		_, err = pool.Exec(fmt.Sprintf("INSERT INTO %s SELECT seq, MOD(seq, 113), "+
			"CONCAT('pad', seq) FROM seq_1_to_%d", tblRows, nRows))
	}
	if !noErr(err, "streamed result: 20,000-row table") {
		return
	}
	wantSum := 0
	for i := 1; i <= nRows; i++ {
		wantSum += i % 113
	}
	for _, mode := range []string{"text", "prepared"} {
		var rows *sql.Rows
		if mode == "text" {
			rows, err = pool.Query("SELECT id, v, pad FROM " + tblRows + " ORDER BY id")
		} else {
			rows, err = pool.Query("SELECT id, v, pad FROM "+tblRows+" WHERE id > ? ORDER BY id", 0)
		}
		if !noErr(err, "streamed result ("+mode+")") {
			continue
		}
		n, total, inOrder := 0, 0, 0
		for rows.Next() {
			var id, v int
			var pad string
			if err = rows.Scan(&id, &v, &pad); err != nil {
				break
			}
			n++
			total += v
			if id == n && pad == fmt.Sprintf("pad%d", n) {
				inOrder++
			}
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if noErr(err, "streamed result ("+mode+")") {
			eq(n, nRows, "streamed result ("+mode+", rows iteration): 20,000 rows")
			ok(inOrder == nRows && total == wantSum, "streamed rows ("+mode+") in order with the right values")
		}
	}
	// stop reading half-way: the driver drains the rest
	rows, err := pool.Query("SELECT id FROM " + tblRows + " ORDER BY id")
	if noErr(err, "streamed result closed after 5 rows") {
		for i := 0; i < 5 && rows.Next(); i++ {
		}
		err = rows.Close()
		if noErr(err, "streamed result closed after 5 rows") {
			v, err := scalar(pool, "SELECT COUNT(*) FROM "+tblRows)
			if noErr(err, "connection usable after closing a streamed result") {
				eq(v, fmt.Sprint(nRows), "connection usable after closing a streamed result")
			}
		}
	}
}

func transaction(pool, direct *sql.DB) {
	count := func(q interface {
		QueryRow(string, ...interface{}) *sql.Row
	}, id int) string {
		v, err := scalar(q, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE id = %d", tbl, id))
		if err != nil {
			return "error: " + err.Error()
		}
		return v
	}
	tx, err := pool.Begin()
	if !noErr(err, "transaction: BEGIN") {
		return
	}
	if _, err = tx.Exec("INSERT INTO "+tbl+" (id, s) VALUES (?, ?)", 100, "rolled back"); !noErr(err, "transaction: INSERT") {
		tx.Rollback()
		return
	}
	eq(count(tx, 100), "1", "transaction sees its own row")
	eq(count(direct, 100), "0", "the shard primary does not see it before COMMIT")
	if noErr(tx.Rollback(), "ROLLBACK") {
		eq(count(direct, 100), "0", "ROLLBACK leaves nothing on the shard primary")
	}
	tx, err = pool.Begin()
	if !noErr(err, "transaction: BEGIN") {
		return
	}
	if _, err = tx.Exec("INSERT INTO "+tbl+" (id, s) VALUES (?, ?)", 101, "committed"); !noErr(err, "transaction: INSERT") {
		tx.Rollback()
		return
	}
	if noErr(tx.Commit(), "COMMIT") {
		v, err := scalar(direct, "SELECT s FROM "+tbl+" WHERE id = 101")
		if noErr(err, "COMMIT persists on the shard primary") {
			eq(v, "committed", "COMMIT persists on the shard primary")
		}
	}
}

func errorCase(pool *sql.DB) {
	conn, err := pool.Conn(ctx)
	if !noErr(err, "syntax error reports 1064") {
		return
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "SELEC 1")
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		eq(me.Number, uint16(1064), "syntax error reports 1064")
	} else {
		ok(false, "syntax error reports 1064")
		diag("error: %v", err)
	}
	var v int
	err = conn.QueryRowContext(ctx, "SELECT 2").Scan(&v)
	if noErr(err, "connection works after the error") {
		eq(v, 2, "connection works after the error")
	}
}

func multi(user, pass, host, port, db string) {
	mp, err := sql.Open("mysql", dsn(user, pass, host, port, db, "multiStatements=true"))
	if !noErr(err, "multi-statements") {
		return
	}
	defer mp.Close()
	rows, err := mp.Query("SELECT 1; SELECT 'two'; SELECT 3")
	if !noErr(err, "multi-statements") {
		return
	}
	var got []string
	for {
		for rows.Next() {
			var s string
			if err = rows.Scan(&s); err != nil {
				break
			}
			got = append(got, s)
		}
		if err != nil || !rows.NextResultSet() {
			break
		}
	}
	if err == nil {
		err = rows.Err()
	}
	rows.Close()
	if noErr(err, "multi-statements") {
		eq(got, []string{"1", "two", "3"}, "multi-statements: three result sets")
	}
	v, err := scalar(mp, "SELECT 4")
	if noErr(err, "connection works after multi-statements") {
		eq(v, "4", "connection works after multi-statements")
	}
}

func pingAndUse(pool *sql.DB, db string) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pool.Conn(cctx)
	if !noErr(err, "ping") {
		return
	}
	defer conn.Close()
	if noErr(conn.PingContext(cctx), "ping") {
		ok(true, "ping")
	}
	for _, name := range []string{otherDB, db} {
		var cur string
		_, err = conn.ExecContext(cctx, "USE "+name)
		if err == nil {
			err = conn.QueryRowContext(cctx, "SELECT DATABASE()").Scan(&cur)
		}
		if noErr(err, "USE "+name) {
			eq(cur, name, "USE "+name+": SELECT DATABASE() returns it")
		}
	}
}
