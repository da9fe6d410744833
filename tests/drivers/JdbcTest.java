// JdbcTest.java - MariaDB Connector/J (pure Java) against the server named
// by MYSHARD_HOST/PORT/USER/PASSWORD/DB: the driver checklist of
// tests/drivers/run.sh. PreparedStatements are prepared on the server
// (useServerPrepStmts=true). The transaction is witnessed directly on the
// shard primary (127.0.0.1:S0_PRIMARY_PORT as BACKEND_USER). TAP output;
// exit 1 on failure.
//
// Run: java -cp /usr/share/java/mariadb-java-client.jar tests/drivers/JdbcTest.java

import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Random;

public class JdbcTest {
    static final String T = "drv_jdbc_t";
    static final String R = "drv_jdbc_rows";
    static final int NROWS = 20000;
    static final int BIG_LEN = 17 * 1024 * 1024 + 321;
    static final String OTHER_DB = "appdb";
    static final String UNICODE = "\uD83D\uDE00 \u6F22\u5B57 h\u00E9llo \u041F\u0440\u0438"; // 14 chars

    static int nChecks = 0;
    static int nFailed = 0;

    static String host, port, user, pass, db;

    interface Step {
        void run() throws Exception;
    }

    static String env(String name, String def) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? def : v;
    }

    static void diag(String msg) {
        for (String line : msg.split("\n")) {
            System.out.println("# " + line);
        }
    }

    static boolean ok(boolean cond, String name) {
        nChecks++;
        if (!cond) {
            nFailed++;
        }
        System.out.println((cond ? "ok " : "not ok ") + nChecks + " - " + name);
        return cond;
    }

    static String show(Object v) {
        if (v instanceof Object[]) {
            return Arrays.deepToString((Object[]) v);
        }
        return String.valueOf(v);
    }

    static boolean eq(Object got, Object want, String name) {
        boolean same = Objects.deepEquals(got, want);
        if (!ok(same, name)) {
            diag("expected " + show(want) + ", got " + show(got));
        }
        return same;
    }

    // Runs one checklist item; an exception is a failed check named after it.
    static void step(String name, Step s) {
        try {
            s.run();
        } catch (Exception e) {
            ok(false, name + " (raised)");
            if (e instanceof SQLException) {
                SQLException se = (SQLException) e;
                diag(e.getClass().getName() + " (" + se.getErrorCode() + "/" + se.getSQLState() + "): "
                        + e.getMessage());
            } else {
                diag(e.toString());
            }
        }
    }

    static Connection connect(String params) throws SQLException {
        return DriverManager.getConnection(
                "jdbc:mariadb://" + host + ":" + port + "/" + db + "?connectTimeout=10000&" + params, user, pass);
    }

    static Object value(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getObject(1) : "no row";
        }
    }

    static long count(Connection c, String sql) throws SQLException {
        return ((Number) value(c, sql)).longValue();
    }

    static String md5hex(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
    }

    public static void main(String[] args) throws Exception {
        host = env("MYSHARD_HOST", "127.0.0.1");
        port = env("MYSHARD_PORT", "3306");
        user = env("MYSHARD_USER", "app");
        pass = env("MYSHARD_PASSWORD", "app");
        db = env("MYSHARD_DB", "shop");
        System.out.println("# MariaDB Connector/J (Java " + System.getProperty("java.version") + ") against " + host
                + ":" + port + " user=" + user + " db=" + db);
        Connection c;
        Connection direct;
        try {
            c = connect("useServerPrepStmts=true");
            direct = DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + env("S0_PRIMARY_PORT", "0") + "/" + db,
                    env("BACKEND_USER", "myshard"), env("BACKEND_PASSWORD", "secret"));
        } catch (SQLException e) {
            ok(false, "connect (raised)");
            diag(e.getErrorCode() + ": " + e.getMessage());
            finish();
            return;
        }
        ok(true, "connect (useServerPrepStmts=true)");
        diag(c.getMetaData().getDriverName() + " " + c.getMetaData().getDriverVersion() + ", server "
                + c.getMetaData().getDatabaseProductVersion());

        step("text query", () -> {
            try (Statement st = c.createStatement()) {
                ResultSet rs = st.executeQuery("SELECT 1, 'it''s', 2.5");
                rs.next();
                eq(new Object[] {rs.getInt(1), rs.getString(2), rs.getString(3)}, new Object[] {1, "it's", "2.5"},
                        "text query: SELECT 1, 'it''s', 2.5");
                st.execute("DROP TABLE IF EXISTS " + T);
                st.execute("CREATE TABLE " + T + " (id INT PRIMARY KEY, s VARCHAR(100), b LONGBLOB, n INT)"
                        + " DEFAULT CHARSET=utf8mb4");
                ok(true, "text query: CREATE TABLE " + T);
            }
        });

        step("prepared statement", () -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT ? + ?, CONCAT(?, '!')")) {
                ps.setInt(1, 40);
                ps.setInt(2, 2);
                ps.setString(3, "a'b\"c\\d");
                ResultSet rs = ps.executeQuery();
                rs.next();
                eq(new Object[] {rs.getLong(1), rs.getString(2)}, new Object[] {42L, "a'b\"c\\d!"},
                        "prepared statement (server-side) with parameters");
                ps.setInt(1, 1);
                rs = ps.executeQuery();
                rs.next();
                eq(rs.getLong(1), 3L, "prepared statement executed twice");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + " (id, s, n) VALUES (?, ?, ?)")) {
                ps.setInt(1, 1);
                ps.setString(2, "one");
                ps.setInt(3, 7);
                eq(ps.executeUpdate(), 1, "prepared INSERT affects 1 row");
            }
            try (PreparedStatement ps = c.prepareStatement("SELEC ?")) {
                ps.setInt(1, 1);
                ps.executeQuery();
                ok(false, "preparing bad SQL reports 1064");
            } catch (SQLException e) {
                eq(e.getErrorCode(), 1064, "preparing bad SQL reports 1064");
            }
        });

        step("NULL", () -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + " (id, s, n) VALUES (?, ?, ?)")) {
                ps.setInt(1, 2);
                ps.setNull(2, Types.VARCHAR);
                ps.setNull(3, Types.INTEGER);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT s, n, n IS NULL FROM " + T + " WHERE id = ?")) {
                ps.setInt(1, 2);
                ResultSet rs = ps.executeQuery();
                rs.next();
                eq(new Object[] {rs.getString(1), rs.getObject(2), rs.getInt(3)}, new Object[] {null, null, 1},
                        "NULL in (parameter) and out (column)");
            }
            eq(value(c, "SELECT NULL"), null, "SELECT NULL is null (text)");
        });

        step("unicode and binary", () -> {
            byte[] bin = new byte[256];
            for (int i = 0; i < 256; i++) {
                bin[i] = (byte) i;
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + " (id, s, b) VALUES (?, ?, ?)")) {
                ps.setInt(1, 3);
                ps.setString(2, UNICODE);
                ps.setBytes(3, bin);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT s, CHAR_LENGTH(s), b, LENGTH(b), HEX(b) FROM " + T + " WHERE id = ?")) {
                ps.setInt(1, 3);
                ResultSet rs = ps.executeQuery();
                rs.next();
                eq(rs.getString(1), UNICODE, "unicode (emoji, CJK) round trip");
                eq(rs.getInt(2), 14, "server counts 14 characters");
                ok(Arrays.equals(rs.getBytes(3), bin), "binary: all 256 byte values round trip");
                eq(new Object[] {rs.getInt(4), rs.getString(5)},
                        new Object[] {256, HexFormat.of().withUpperCase().formatHex(bin)},
                        "binary: server sees the 256 bytes");
            }
            eq(value(c, "SELECT s FROM " + T + " WHERE id = 3"), UNICODE, "unicode through the text protocol");
        });

        step("17 MB value", () -> {
            byte[] big = new byte[BIG_LEN];
            new Random(17).nextBytes(big);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + T + " (id, b) VALUES (?, ?)")) {
                ps.setInt(1, 4);
                ps.setBytes(2, big);
                eq(ps.executeUpdate(), 1, "17 MB value: INSERT");
            }
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT LENGTH(b), MD5(b) FROM " + T + " WHERE id = 4")) {
                rs.next();
                eq(new Object[] {rs.getInt(1), rs.getString(2)}, new Object[] {BIG_LEN, md5hex(big)},
                        "17 MB value: server LENGTH and MD5 match the client's");
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT b FROM " + T + " WHERE id = ?")) {
                ps.setInt(1, 4);
                ResultSet rs = ps.executeQuery();
                rs.next();
                byte[] got = rs.getBytes(1);
                if (!ok(Arrays.equals(got, big), "17 MB value: reads back byte-identical")) {
                    diag("got " + (got == null ? "null" : got.length + " bytes"));
                }
            }
        });

        step("streamed result", () -> {
            try (Statement st = c.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + R);
                st.execute("CREATE TABLE " + R + " (id INT PRIMARY KEY, v INT, pad VARCHAR(32))");
                st.execute("INSERT INTO " + R + " SELECT seq, MOD(seq, 113), CONCAT('pad', seq) FROM seq_1_to_" + NROWS);
            }
            long want = 0;
            for (int i = 1; i <= NROWS; i++) {
                want += i % 113;
            }
            try (Statement st = c.createStatement()) {
                st.setFetchSize(Integer.MIN_VALUE);
                ResultSet rs = st.executeQuery("SELECT id, v, pad FROM " + R + " ORDER BY id");
                int n = 0;
                int inOrder = 0;
                long total = 0;
                while (rs.next()) {
                    n++;
                    total += rs.getInt(2);
                    if (rs.getInt(1) == n && rs.getString(3).equals("pad" + n)) {
                        inOrder++;
                    }
                }
                rs.close();
                eq(n, NROWS, "streamed result (setFetchSize(Integer.MIN_VALUE)): 20,000 rows");
                ok(inOrder == NROWS && total == want, "streamed rows in order with the right values");
            }
            try (Statement st = c.createStatement()) {
                st.setFetchSize(Integer.MIN_VALUE);
                ResultSet rs = st.executeQuery("SELECT id FROM " + R + " ORDER BY id");
                for (int i = 0; i < 5; i++) {
                    rs.next();
                }
                rs.close();
            }
            eq(count(c, "SELECT COUNT(*) FROM " + R), (long) NROWS,
                    "connection usable after closing a streamed result early");
        });

        step("transaction", () -> {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("INSERT INTO " + T + " (id, s) VALUES (100, 'rolled back')");
                eq(count(c, "SELECT COUNT(*) FROM " + T + " WHERE id = 100"), 1L, "transaction sees its own row");
                eq(count(direct, "SELECT COUNT(*) FROM " + T + " WHERE id = 100"), 0L,
                        "the shard primary does not see it before COMMIT");
                c.rollback();
                eq(count(direct, "SELECT COUNT(*) FROM " + T + " WHERE id = 100"), 0L,
                        "ROLLBACK leaves nothing on the shard primary");
                st.execute("INSERT INTO " + T + " (id, s) VALUES (101, 'committed')");
                c.commit();
                eq(value(direct, "SELECT s FROM " + T + " WHERE id = 101"), "committed",
                        "COMMIT persists on the shard primary");
            } finally {
                c.setAutoCommit(true);
            }
        });

        step("error", () -> {
            try (Statement st = c.createStatement()) {
                st.executeQuery("SELEC 1");
                ok(false, "syntax error reports 1064");
            } catch (SQLException e) {
                eq(e.getErrorCode(), 1064, "syntax error reports 1064");
            }
            eq(count(c, "SELECT 2"), 2L, "connection works after the error");
        });

        step("multi-statements", () -> {
            try (Connection m = connect("allowMultiQueries=true"); Statement st = m.createStatement()) {
                List<Object> got = new ArrayList<>();
                boolean isRs = st.execute("SELECT 1; SELECT 'two'; SELECT 3");
                while (isRs || st.getUpdateCount() != -1) {
                    if (isRs) {
                        ResultSet rs = st.getResultSet();
                        rs.next();
                        got.add(rs.getString(1));
                    }
                    isRs = st.getMoreResults();
                }
                eq(got, List.of("1", "two", "3"), "multi-statements (allowMultiQueries=true): three result sets");
                eq(count(m, "SELECT 4"), 4L, "connection works after multi-statements");
            }
        });

        step("ping", () -> ok(c.isValid(5), "ping (isValid)"));

        step("change of database", () -> {
            c.setCatalog(OTHER_DB);
            eq(value(c, "SELECT DATABASE()"), OTHER_DB, "setCatalog(" + OTHER_DB + "): SELECT DATABASE() returns it");
            eq(c.getCatalog(), OTHER_DB, "getCatalog() returns " + OTHER_DB);
            try (Statement st = c.createStatement()) {
                st.execute("USE " + db);
            }
            eq(value(c, "SELECT DATABASE()"), db, "USE " + db + ": SELECT DATABASE() returns it");
        });

        step("cleanup", () -> {
            try (Statement st = c.createStatement()) {
                st.execute("DROP TABLE IF EXISTS " + T);
                st.execute("DROP TABLE IF EXISTS " + R);
            }
            c.close();
            direct.close();
        });
        finish();
    }

    static void finish() {
        System.out.println("1.." + nChecks);
        if (nFailed > 0) {
            diag("jdbc: " + nFailed + " of " + nChecks + " failed");
        }
        System.out.flush();
        System.exit(nFailed > 0 ? 1 : 0);
    }
}
