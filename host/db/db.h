/*
 * db.h — Postgres through libpq: a fixed-size connection pool, parameterized
 * queries (text parameters only; SQL text never contains user input), and
 * transactions.
 *
 * Ownership: a PGconn from cl_db_acquire belongs to the caller until
 * cl_db_release. A PGresult from cl_db_query belongs to the caller (PQclear).
 */
#ifndef CL_DB_DB_H
#define CL_DB_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** Create the process-wide pool (connections are opened lazily). Returns 0 or -1. */
int cl_db_pool_init(const char *conninfo, int size);
/** Close every idle connection and free the pool (call after all releases). */
void cl_db_pool_shutdown(void);

/**
 * How long a request waits for a pooled connection (cl_db_acquire's
 * timeout_ms): the signed-in routes (cl_auth_open) and money paths wait
 * CL_DB_WAIT_MS; the public hot paths (redirects, tracking beacons, health,
 * the public site) wait CL_DB_WAIT_FAST_MS and rather answer 503.
 */
#define CL_DB_WAIT_MS 5000
#define CL_DB_WAIT_FAST_MS 2000

/**
 * Take a connection, opening one if the pool has room, waiting up to
 * timeout_ms for a release otherwise. An idle connection the server closed
 * meanwhile (anything to read on an idle connection means the server hung
 * up, e.g. after a restart) is reconnected first, so the first request after
 * a restart does not fail. NULL on failure with a reason in err (never
 * contains the password).
 */
PGconn *cl_db_acquire(int timeout_ms, char *err, size_t errlen);
/**
 * Give a connection back; a broken one or one left inside a transaction is
 * closed. Releasing one that is already back in the pool is a bug that is
 * logged and ignored (the pool never holds it twice).
 */
void cl_db_release(PGconn *conn);

/**
 * Lost-server tracking, per thread: cl_db_acquire failing to connect and a
 * statement failing because the connection broke (the server restarted,
 * crashed or was shut down: SQLSTATE class 08, 57P01..57P03, or libpq's
 * CONNECTION_BAD) set a flag that stays set until cl_db_lost_reset. The HTTP
 * pool resets it before each handler and turns the handler's 5xx into 503
 * database_unavailable when it is set; the worker retries such attempts.
 */
int cl_db_lost(void);
void cl_db_lost_reset(void);

/** Open one connection outside the pool (CLI commands, LISTEN). NULL + err on failure. */
PGconn *cl_db_connect(const char *conninfo, char *err, size_t errlen);

/**
 * Run one parameterized statement. params are text values (NULL = SQL NULL).
 * Always returns a PGresult (possibly an error result); never NULL unless out
 * of memory. Check with cl_db_ok.
 */
PGresult *cl_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params);
/**
 * A statement prepared once per connection: `name` is unique in the process,
 * `sql` and `nparams` never change. Define one as a static const next to the
 * code that runs it.
 */
typedef struct cl_db_stmt {
    const char *name;
    const char *sql;
    int nparams;
} cl_db_stmt;

/**
 * Run st as a prepared statement on conn, preparing it first if this
 * connection (this backend) has not yet. Safe inside a transaction (a
 * preparation never fails in a way that aborts it). Returns a PGresult like
 * cl_db_query (check with cl_db_ok; caller PQclears).
 */
PGresult *cl_db_prepared(PGconn *conn, const cl_db_stmt *st, const char *const *params);

/** Size of the text of an int64 statement parameter ("-9223372036854775808" and NUL). */
#define CL_DB_ID_LEN 24
/**
 * Write id as decimal text into buf (the caller's, CL_DB_ID_LEN bytes) and
 * return buf: a statement's text parameter, e.g.
 * `const char *p[] = {cl_db_id(sid, id), cl_db_id(uid, u->id)};`.
 */
char *cl_db_id(char buf[CL_DB_ID_LEN], int64_t id);

/** True when res is a command/tuples success. */
int cl_db_ok(const PGresult *res);
/**
 * The check after a statement in a function that answers -1 with err set:
 * 0 when r succeeded (r stays the caller's), else -1 with the error copied
 * into err (unless err is NULL) and r PQcleared.
 */
int cl_db_check(PGconn *conn, PGresult *r, char *err, size_t errlen);
/**
 * The same after a statement that reads at most one row: 1 when r has a row
 * (r stays the caller's), 0 when it has none, -1 when it failed (err set);
 * on 0 and -1 r is PQcleared.
 */
int cl_db_one(PGconn *conn, PGresult *r, char *err, size_t errlen);
/**
 * Run a statement in a function that answers -1 with err set: its result
 * when it succeeded (the caller PQclears it), else NULL with the error in
 * err (cl_db_query + cl_db_check).
 */
PGresult *cl_db_run(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
                    size_t errlen);
/**
 * Run a statement that reads one integer (the first column of its one row):
 * that value, or on_error when it failed or read no row.
 */
int64_t cl_db_int(PGconn *conn, const char *sql, int nparams, const char *const *params, int64_t on_error);
/** Run a statement, discard the result; 0 on success, -1 with err filled. */
int cl_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
               size_t errlen);

/** BEGIN / COMMIT / ROLLBACK. Return 0 or -1. */
int cl_db_begin(PGconn *conn);
int cl_db_commit(PGconn *conn);
void cl_db_rollback(PGconn *conn);

/** SQLSTATE of an error result ("23505" unique violation, ...), "" if none. */
const char *cl_db_sqlstate(const PGresult *res);
/** Copy the primary error message of res or conn into err (first line only). */
void cl_db_errmsg(PGconn *conn, const PGresult *res, char *err, size_t errlen);

/**
 * The start-up check of serve and worker: the database at conninfo is
 * reachable and has applied every migration in dir. 0, or -1 with the
 * reason (how to fix it) in err.
 */
int cl_db_check_ready(const char *conninfo, const char *dir, char *err, size_t errlen);
/** Count of migrations in dir that the database has not applied; -1 on error (err set). */
int cl_db_pending_migrations(PGconn *conn, const char *dir, char *err, size_t errlen);
/** Apply pending migrations under an advisory lock; prints what it applies. 0 or -1 (err set). */
int cl_db_migrate(PGconn *conn, const char *dir, int verbose, char *err, size_t errlen);

#endif
