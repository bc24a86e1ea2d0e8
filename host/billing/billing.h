/*
 * billing.h — Pro subscriptions through the selected billing_provider plugin
 * (BILLING_PROVIDER, e.g. "lemonsqueezy"; "none" by default). The plugin makes
 * the provider's HTTP calls and checks signatures; this module stores every
 * accepted webhook (webhook_events), syncs `subscriptions` (an older
 * updated_at never overwrites a newer state), derives the plan through
 * cl_effective_plan and applies the month's Pro grant (cl_credits_grant_monthly,
 * once per window). See docs/billing.md.
 *
 *   POST /api/billing/checkout           signed in: a hosted checkout URL for Pro,
 *                                        the same one for CL_BILLING_CHECKOUT_REUSE_SECONDS
 *   POST /api/billing/portal             signed in: a fresh customer-portal URL (404 without a subscription)
 *   GET  /api/billing                    signed in: subscription and billing history
 *   POST /api/webhooks/lemonsqueezy      public, signed: the provider's events
 *
 * Not configured (BILLING_PROVIDER=none, or the plugin misses settings):
 * every route answers 503 `billing_not_configured`.
 */
#ifndef CL_BILLING_BILLING_H
#define CL_BILLING_BILLING_H

#include "cliploop_plugin.h"
#include "http/http.h"
#include <stddef.h>

/** Largest webhook body accepted (bigger: 413, nothing stored). */
#define CL_BILLING_WEBHOOK_MAX_BYTES ((size_t)256 * 1024)
/** A checkout created less than this long ago is handed out again. */
#define CL_BILLING_CHECKOUT_REUSE_SECONDS 600

/**
 * The selected billing provider when it is loaded and fully configured, else
 * NULL with a reason in why (may be NULL). Never blocks. The pointer is the
 * registry's copy (valid for the life of the process).
 */
const cl_billing_provider *cl_billing_provider_ready(char *why, size_t whylen);

/** 1 when checkout can be offered (cl_billing_provider_ready is not NULL). */
int cl_billing_available(void);

/** Log at start-up whether billing is on, and why not (no secrets). */
void cl_billing_log_status(void);

/**
 * The site's public origin ("https://host", no trailing slash) into out:
 * PUBLIC_BASE_URL, else http(s)://<Host header> (https when
 * X-Forwarded-Proto says so; a Host with unexpected characters becomes
 * 127.0.0.1).
 */
void cl_public_origin(const cl_req *req, char *out, size_t len);

/** Register the routes above. */
void cl_billing_register_routes(void);

#endif
