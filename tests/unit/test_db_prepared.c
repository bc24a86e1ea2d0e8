/*
 * test_db_prepared.c — cl_db_prepared against a real Postgres: a statement
 * is prepared on first use and executed by name afterwards; one already
 * prepared on the connection (unknown to the cache) is found, not prepared
 * again, so a caller's open transaction survives; a reset connection (a new
 * backend) prepares again; several statements share one connection.
 *
 * Needs CLIPLOOP_PG_ADMIN_URL (scripts/test sets it); uses no table.
 */
#include "db/db.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cl_db_stmt ADD_ONE = {"test_db_add_one", "SELECT $1::int + 1", 1};
static const cl_db_stmt CONCAT = {"test_db_concat", "SELECT $1::text || '-' || $2::text", 2};

/* The single value of r as text ("" on error); clears r. */
static const char *value(PGresult *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s", cl_db_ok(r) && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return buf;
}

/* Is name prepared on c (asked of the server)? */
static int prepared_on(PGconn *c, const char *name)
{
    const char *p[] = {name};
    PGresult *r = cl_db_query(c, "SELECT count(*) FROM pg_prepared_statements WHERE name = $1", 1, p);
    int n = cl_db_ok(r) ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

int main(void)
{
    const char *url = getenv("CLIPLOOP_PG_ADMIN_URL");
    if (!url || !*url) {
        fprintf(stderr, "test_db_prepared: CLIPLOOP_PG_ADMIN_URL must be set (run through scripts/test)\n");
        return 1;
    }
    char err[256], buf[64];
    PGconn *c = cl_db_connect(url, err, sizeof err);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "connect: %s\n", err);
        return unit_done("test_db_prepared");
    }

    /* First use prepares, later uses run it by name. */
    CHECK(prepared_on(c, ADD_ONE.name) == 0);
    CHECK_STR(value(cl_db_prepared(c, &ADD_ONE, (const char *[]){"41"}), buf, sizeof buf), "42");
    CHECK(prepared_on(c, ADD_ONE.name) == 1);
    CHECK_STR(value(cl_db_prepared(c, &ADD_ONE, (const char *[]){"1"}), buf, sizeof buf), "2");
    CHECK_STR(value(cl_db_prepared(c, &CONCAT, (const char *[]){"a", "b"}), buf, sizeof buf), "a-b");
    CHECK(prepared_on(c, CONCAT.name) == 1);

    /* A bad parameter is an error result, and the statement still works after it. */
    PGresult *bad = cl_db_prepared(c, &ADD_ONE, (const char *[]){"not a number"});
    CHECK(!cl_db_ok(bad));
    PQclear(bad);
    CHECK_STR(value(cl_db_prepared(c, &ADD_ONE, (const char *[]){"9"}), buf, sizeof buf), "10");

    /* A second connection where the statement was prepared behind the
       cache's back, used first inside a transaction: found, not prepared
       again (which would fail and abort the transaction). */
    PGconn *d = cl_db_connect(url, err, sizeof err);
    CHECK(d != NULL);
    if (d) {
        PGresult *r = PQprepare(d, CONCAT.name, CONCAT.sql, CONCAT.nparams, NULL);
        CHECK(cl_db_ok(r));
        PQclear(r);
        CHECK(cl_db_begin(d) == 0);
        CHECK_STR(value(cl_db_prepared(d, &CONCAT, (const char *[]){"x", "y"}), buf, sizeof buf), "x-y");
        CHECK(PQtransactionStatus(d) == PQTRANS_INTRANS);
        CHECK_STR(value(cl_db_query(d, "SELECT 'still open'", 0, NULL), buf, sizeof buf), "still open");
        CHECK(cl_db_commit(d) == 0);
        PQfinish(d);
    }

    /* A reset connection is a new backend without the statements: prepared again. */
    int pid = PQbackendPID(c);
    PQreset(c);
    CHECK(PQstatus(c) == CONNECTION_OK);
    CHECK(PQbackendPID(c) != pid);
    CHECK(prepared_on(c, ADD_ONE.name) == 0);
    CHECK_STR(value(cl_db_prepared(c, &ADD_ONE, (const char *[]){"99"}), buf, sizeof buf), "100");
    CHECK(prepared_on(c, ADD_ONE.name) == 1);

    PQfinish(c);

    /* A connection released twice is pooled once: the next two acquires
       get two different connections, never the same one twice. */
    CHECK(cl_db_pool_init(url, 4) == 0);
    PGconn *p1 = cl_db_acquire(CL_DB_WAIT_MS, err, sizeof err);
    CHECK(p1 != NULL);
    cl_db_release(p1);
    cl_db_release(p1);
    PGconn *a = cl_db_acquire(CL_DB_WAIT_MS, err, sizeof err), *b = cl_db_acquire(CL_DB_WAIT_MS, err, sizeof err);
    CHECK(a != NULL && b != NULL);
    CHECK(a != b);
    cl_db_release(a);
    cl_db_release(b);
    cl_db_pool_shutdown();
    return unit_done("test_db_prepared");
}
