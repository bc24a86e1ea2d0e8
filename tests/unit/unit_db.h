/*
 * unit_db.h — a private, migrated Postgres database for one C unit test:
 * "<prefix>_<pid>" created through CLIPLOOP_PG_ADMIN_URL, migrated from
 * CLIPLOOP_SOURCE_DIR/migrations, dropped (WITH FORCE) when done.
 *
 *   unit_db d;
 *   if (unit_db_open(&d, "unit_jobs") != 0) return 1;
 *   ... d.c is the test's connection ...
 *   unit_db_close(&d);
 */
#ifndef CL_UNIT_DB_H
#define CL_UNIT_DB_H

#include "db/db.h"
#include "test_util.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct unit_db {
    PGconn *adm; /* the admin connection (owned) */
    PGconn *c;   /* the test's connection to the new database (owned; NULL when it failed) */
    char name[64];
    char url[2048]; /* the new database's URL (more connections, e.g. per thread) */
    int migrated; /* 1 when every migration applied */
} unit_db;

/** Create and migrate the database. 0 (d->c may still be NULL, see migrated), or -1 when it could not be created. */
static inline int unit_db_open(unit_db *d, const char *prefix)
{
    const char *admin = getenv("CLIPLOOP_PG_ADMIN_URL"), *src = getenv("CLIPLOOP_SOURCE_DIR");
    char sql[128], err[512], migrations[2048];
    memset(d, 0, sizeof *d);
    if (!admin || !*admin || !src || !*src) {
        fprintf(stderr, "%s: CLIPLOOP_PG_ADMIN_URL and CLIPLOOP_SOURCE_DIR must be set (run through scripts/test)\n",
                prefix);
        return -1;
    }
    snprintf(d->name, sizeof d->name, "%s_%d", prefix, (int)getpid());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", d->name);
    d->adm = cl_db_connect(admin, err, sizeof err);
    if (!d->adm || cl_db_exec(d->adm, sql, 0, NULL, err, sizeof err)) {
        fprintf(stderr, "%s: cannot create database: %s\n", prefix, err);
        if (d->adm)
            PQfinish(d->adm);
        d->adm = NULL;
        return -1;
    }
    if (url_with_db(admin, d->name, d->url, sizeof d->url) != 0 || !(d->c = cl_db_connect(d->url, err, sizeof err))) {
        fprintf(stderr, "%s: cannot connect to %s\n", prefix, d->name);
        return 0;
    }
    snprintf(migrations, sizeof migrations, "%s/migrations", src);
    d->migrated = cl_db_migrate(d->c, migrations, 0, err, sizeof err) == 0;
    if (!d->migrated)
        fprintf(stderr, "%s: migrate: %s\n", prefix, err);
    return 0;
}

/** Close the test's connection and drop the database. */
static inline void unit_db_close(unit_db *d)
{
    char sql[128], err[256];
    if (d->c)
        PQfinish(d->c);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", d->name);
    if (d->adm) {
        cl_db_exec(d->adm, sql, 0, NULL, err, sizeof err);
        PQfinish(d->adm);
    }
    memset(d, 0, sizeof *d);
}

#endif
