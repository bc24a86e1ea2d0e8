#include "commands.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

/* cliploop migrate [--status]: apply pending migrations, or count them. */
int cl_cmd_migrate(int argc, char **argv)
{
    int status_only = argc > 1 && strcmp(argv[1], "--status") == 0;
    if (!cl_cfg.database_url[0]) {
        cl_error("migrate", "DATABASE_URL is not set");
        return 2;
    }
    char err[1024];
    PGconn *c = cl_db_connect(cl_cfg.database_url, err, sizeof err);
    if (!c) {
        cl_error("migrate", "cannot connect to the database: %s", err);
        return 1;
    }
    int rc;
    if (status_only) {
        int n = cl_db_pending_migrations(c, cl_cfg.migrations_dir, err, sizeof err);
        if (n >= 0)
            printf("%d pending migration(s)\n", n);
        rc = n < 0;
    } else {
        rc = cl_db_migrate(c, cl_cfg.migrations_dir, 1, err, sizeof err) != 0;
    }
    if (rc)
        cl_error("migrate", "%s", err);
    PQfinish(c);
    return rc;
}
