/*
 * score.h — the score of a post and its class within its week: one pure
 * function pair, no I/O (tested as a table in tests/unit/test_score.c).
 *
 *   score = revenue * 100 + signups * 20 + clicks * 2 + ctr * 5
 *
 * revenue in MAJOR units of the project's currency (revenue in other
 * currencies is listed by the rollup, never converted and never scored);
 * ctr = clicks / views as a fraction, and only when views are known and
 * positive — otherwise the term is 0 and the ctr is "unknown", never made up.
 *
 * Classes within one cycle, by relative rank (cl_classify):
 *   - every score 0 (or no item): all neutral;
 *   - winners: the top max(1, n / 5) positions; losers: the bottom n / 5
 *     positions (integer division; never overlapping the winners);
 *   - ties share the better class: a group of equal scores takes the class
 *     of its best position (an item is a winner when fewer than `winners`
 *     items score strictly higher, a loser when at least n - losers do).
 */
#ifndef CL_METRICS_SCORE_H
#define CL_METRICS_SCORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CL_CLASS_NEUTRAL = 0, CL_CLASS_WINNER = 1, CL_CLASS_LOSER = 2 } cl_item_class;

typedef struct cl_score_input {
    int64_t clicks;        /**< people's clicks (bots excluded) */
    int64_t signups;       /**< conversions of type "signup" */
    int64_t revenue_minor; /**< revenue in the project's currency, minor units */
    int currency_exponent; /**< minor units per major = 10^exponent (2 for USD/NGN, 0 for JPY) */
    int64_t views;         /**< < 0: unknown */
} cl_score_input;

/**
 * The item's score. *ctr_out (may be NULL) is clicks / views when views are
 * known and > 0, else -1 (unknown). Negative counts are read as 0.
 */
double cl_score(const cl_score_input *in, double *ctr_out);

/** Classify n scores (see above) into out[n]. */
void cl_classify(const double *scores, size_t n, cl_item_class *out);

/** "winner", "neutral", "loser". */
const char *cl_item_class_name(cl_item_class c);

/**
 * ISO 4217 minor-unit exponent of a currency code: 0 (JPY, KRW, XOF, …),
 * 3 (BHD, KWD, …), 2 otherwise.
 */
int cl_currency_exponent(const char *code);

#endif
