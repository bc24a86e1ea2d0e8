/*
 * publishing.c — registration of the publishing routes and job kinds.
 */
#include "publishing/publishing.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "tracking/tracking.h"

int cl_publishing_register_channel_jobs(void); /* channels.c */

void cl_publishing_register_routes(void)
{
    cl_publishing_register_channel_routes();
    cl_publishing_register_export_routes();
}

int cl_publishing_register_jobs(void)
{
    /* Captions carry the item's tracking link (cl_tracking_item_url needs PUBLIC_BASE_URL read). */
    char err[256];
    if (cl_tracking_configure(err, sizeof err) != 0)
        cl_warn("publishing", "tracking links in captions are unavailable: %s", err);
    return cl_publishing_register_channel_jobs();
}
