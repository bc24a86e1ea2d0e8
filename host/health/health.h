/* health.h — /healthz and /api/version. */
#ifndef CL_HEALTH_HEALTH_H
#define CL_HEALTH_HEALTH_H
/** Register the health routes. */
void cl_health_register_routes(void);
#endif
