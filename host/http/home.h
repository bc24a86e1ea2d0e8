/*
 * home.h — GET /api/home, the studio's first screen in one answer (see home.c).
 */
#ifndef CL_HTTP_HOME_H
#define CL_HTTP_HOME_H

/** Register GET /api/home. */
void cl_home_register_routes(void);

#endif
