/*
 * mysql_defs.h - protocol constants only: capabilities, status flags,
 * commands, column types, and the error codes myshard itself returns.
 */
#ifndef MYSHARD_PROTO_MYSQL_DEFS_H
#define MYSHARD_PROTO_MYSQL_DEFS_H

/* Capability flags */
#define CLIENT_LONG_PASSWORD                  0x00000001u
#define CLIENT_FOUND_ROWS                     0x00000002u
#define CLIENT_LONG_FLAG                      0x00000004u
#define CLIENT_CONNECT_WITH_DB                0x00000008u
#define CLIENT_NO_SCHEMA                      0x00000010u
#define CLIENT_COMPRESS                       0x00000020u
#define CLIENT_ODBC                           0x00000040u
#define CLIENT_LOCAL_FILES                    0x00000080u
#define CLIENT_IGNORE_SPACE                   0x00000100u
#define CLIENT_PROTOCOL_41                    0x00000200u
#define CLIENT_INTERACTIVE                    0x00000400u
#define CLIENT_SSL                            0x00000800u
#define CLIENT_IGNORE_SIGPIPE                 0x00001000u
#define CLIENT_TRANSACTIONS                   0x00002000u
#define CLIENT_RESERVED                       0x00004000u
#define CLIENT_SECURE_CONNECTION              0x00008000u
#define CLIENT_MULTI_STATEMENTS               0x00010000u
#define CLIENT_MULTI_RESULTS                  0x00020000u
#define CLIENT_PS_MULTI_RESULTS               0x00040000u
#define CLIENT_PLUGIN_AUTH                    0x00080000u
#define CLIENT_CONNECT_ATTRS                  0x00100000u
#define CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA 0x00200000u
#define CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS   0x00400000u
#define CLIENT_SESSION_TRACK                  0x00800000u
#define CLIENT_DEPRECATE_EOF                  0x01000000u

/* Server status flags */
#define SERVER_STATUS_IN_TRANS             0x0001
#define SERVER_STATUS_AUTOCOMMIT           0x0002
#define SERVER_MORE_RESULTS_EXISTS         0x0008
#define SERVER_QUERY_NO_GOOD_INDEX_USED    0x0010
#define SERVER_QUERY_NO_INDEX_USED         0x0020
#define SERVER_STATUS_CURSOR_EXISTS        0x0040
#define SERVER_STATUS_LAST_ROW_SENT        0x0080
#define SERVER_STATUS_DB_DROPPED           0x0100
#define SERVER_STATUS_NO_BACKSLASH_ESCAPES 0x0200
#define SERVER_STATUS_METADATA_CHANGED     0x0400
#define SERVER_QUERY_WAS_SLOW              0x0800
#define SERVER_PS_OUT_PARAMS               0x1000
#define SERVER_STATUS_IN_TRANS_READONLY    0x2000
#define SERVER_SESSION_STATE_CHANGED       0x4000

/* Session-state change types in an OK under CLIENT_SESSION_TRACK. */
#define SESSION_TRACK_SYSTEM_VARIABLES 0

/* Commands */
#define COM_SLEEP               0x00
#define COM_QUIT                0x01
#define COM_INIT_DB             0x02
#define COM_QUERY               0x03
#define COM_FIELD_LIST          0x04
#define COM_CREATE_DB           0x05
#define COM_DROP_DB             0x06
#define COM_REFRESH             0x07
#define COM_SHUTDOWN            0x08
#define COM_STATISTICS          0x09
#define COM_PROCESS_INFO        0x0a
#define COM_CONNECT             0x0b
#define COM_PROCESS_KILL        0x0c
#define COM_DEBUG               0x0d
#define COM_PING                0x0e
#define COM_TIME                0x0f
#define COM_DELAYED_INSERT      0x10
#define COM_CHANGE_USER         0x11
#define COM_BINLOG_DUMP         0x12
#define COM_TABLE_DUMP          0x13
#define COM_CONNECT_OUT         0x14
#define COM_REGISTER_SLAVE      0x15
#define COM_STMT_PREPARE        0x16
#define COM_STMT_EXECUTE        0x17
#define COM_STMT_SEND_LONG_DATA 0x18
#define COM_STMT_CLOSE          0x19
#define COM_STMT_RESET          0x1a
#define COM_SET_OPTION          0x1b
#define COM_STMT_FETCH          0x1c
#define COM_DAEMON              0x1d
#define COM_BINLOG_DUMP_GTID    0x1e
#define COM_RESET_CONNECTION    0x1f

/* Column types */
#define MYSQL_TYPE_DECIMAL     0x00
#define MYSQL_TYPE_TINY        0x01
#define MYSQL_TYPE_SHORT       0x02
#define MYSQL_TYPE_LONG        0x03
#define MYSQL_TYPE_FLOAT       0x04
#define MYSQL_TYPE_DOUBLE      0x05
#define MYSQL_TYPE_NULL        0x06
#define MYSQL_TYPE_TIMESTAMP   0x07
#define MYSQL_TYPE_LONGLONG    0x08
#define MYSQL_TYPE_INT24       0x09
#define MYSQL_TYPE_DATE        0x0a
#define MYSQL_TYPE_TIME        0x0b
#define MYSQL_TYPE_DATETIME    0x0c
#define MYSQL_TYPE_YEAR        0x0d
#define MYSQL_TYPE_NEWDATE     0x0e
#define MYSQL_TYPE_VARCHAR     0x0f
#define MYSQL_TYPE_BIT         0x10
#define MYSQL_TYPE_JSON        0xf5
#define MYSQL_TYPE_NEWDECIMAL  0xf6
#define MYSQL_TYPE_ENUM        0xf7
#define MYSQL_TYPE_SET         0xf8
#define MYSQL_TYPE_TINY_BLOB   0xf9
#define MYSQL_TYPE_MEDIUM_BLOB 0xfa
#define MYSQL_TYPE_LONG_BLOB   0xfb
#define MYSQL_TYPE_BLOB        0xfc
#define MYSQL_TYPE_VAR_STRING  0xfd
#define MYSQL_TYPE_STRING      0xfe
#define MYSQL_TYPE_GEOMETRY    0xff

/* Column flags */
#define NOT_NULL_FLAG 0x0001
#define PRI_KEY_FLAG  0x0002
#define BINARY_FLAG   0x0080
#define UNSIGNED_FLAG 0x0020
#define NUM_FLAG      0x8000

/* Charsets */
#define CHARSET_UTF8MB4_GENERAL_CI 45
#define CHARSET_BINARY             63

/* Packet framing */
#define PACKET_HEADER_LEN  4
#define PACKET_MAX_PAYLOAD 0xFFFFFFu

/* Response first bytes */
#define PKT_HDR_OK           0x00
#define PKT_HDR_EOF          0xfe
#define PKT_HDR_ERR          0xff
#define PKT_HDR_LOCAL_INFILE 0xfb

/* Errors myshard returns, under MySQL's / MariaDB's names (mysqld_error.h,
 * which this layer does not include), and myshard's own 9xxx codes. */
#define ER_CON_COUNT_ERROR           1040
#define ER_HANDSHAKE_ERROR           1043
#define ER_DBACCESS_DENIED_ERROR     1044
#define ER_ACCESS_DENIED_ERROR       1045
#define ER_NO_DB_ERROR               1046
#define ER_UNKNOWN_COM_ERROR         1047
#define ER_BAD_DB_ERROR              1049
#define ER_PARSE_ERROR               1064
#define ER_NO_SUCH_THREAD            1094
#define ER_KILL_DENIED_ERROR         1095
#define ER_TABLE_NOT_LOCKED          1100
#define ER_UNKNOWN_ERROR             1105
#define ER_TABLEACCESS_DENIED_ERROR  1142
#define ER_NET_PACKET_TOO_LARGE      1153
#define ER_NET_READ_ERROR            1158
#define ER_ERROR_DURING_COMMIT       1180
#define ER_LOCK_WAIT_TIMEOUT         1205
#define ER_USER_LIMIT_REACHED        1226
#define ER_SPECIFIC_ACCESS_DENIED    1227
#define ER_NOT_SUPPORTED_YET         1235
#define ER_STMT_HAS_NO_OPEN_CURSOR   1421
#define ER_UNKNOWN_STMT_HANDLER      1243
#define ER_OPTION_PREVENTS_STATEMENT 1290
#define ER_XA_RBROLLBACK             1402
#define ER_MAX_PREPARED_STMT_COUNT   1461
#define ER_CONNECTION_KILLED         1927
#define ER_STATEMENT_TIMEOUT         1969
#define ER_SECURE_TRANSPORT_REQUIRED 3159
#define ER_MYSHARD_NO_BACKEND        9001
#define ER_MYSHARD_POOL_TIMEOUT      9002
#define ER_MYSHARD_CIRCUIT_OPEN      9003

#endif
