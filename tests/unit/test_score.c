/*
 * test_score.c — the score formula and the classification rules
 * (host/metrics/score.h) as tables: each row gives the inputs and the
 * expected answer, so a change of a rule fails here until this table and
 * docs/performance.md say the same.
 */
#include "metrics/score.h"
#include "unit.h"

#include <math.h>

static const struct {
    cl_score_input in;
    double score, ctr; /* ctr -1 = unknown */
} score_rows[] = {
    /* clicks signups revenue_minor exp views */
    {{0, 0, 0, 2, -1}, 0, -1},
    {{10, 0, 0, 2, -1}, 20, -1},                  /* clicks * 2, views unknown: no ctr */
    {{10, 1, 0, 2, -1}, 40, -1},                  /* + signups * 20 */
    {{10, 1, 2500, 2, -1}, 2540, -1},             /* 25.00 major units * 100 */
    {{10, 0, 0, 2, 200}, 20 + 0.05 * 5, 0.05},   /* ctr 10/200 as a fraction */
    {{0, 0, 0, 2, 0}, 0, -1},                     /* zero views: ctr unknown, not 0/0 */
    {{3, 0, 500, 0, -1}, 50006, -1},              /* JPY: 500 minor = 500 major */
    {{0, 0, 1500, 3, -1}, 150, -1},               /* KWD: 1.500 major */
    {{-4, -1, -100, 2, -1}, 0, -1},               /* negative counts read as 0 */
    {{40, 3, 5000000, 2, 1000}, 5000000 + 60 + 80 + 0.2, 0.04},
};

#define W CL_CLASS_WINNER
#define N CL_CLASS_NEUTRAL
#define L CL_CLASS_LOSER

static const struct {
    const char *what;
    size_t n;
    double scores[10];
    cl_item_class want[10];
} class_rows[] = {
    {"empty cycle", 0, {0}, {N}},
    {"all zero: all neutral", 5, {0, 0, 0, 0, 0}, {N, N, N, N, N}},
    {"five distinct: one winner, one loser", 5, {10, 50, 30, 20, 40}, {L, W, N, N, N}},
    {"tie at the top: both winners", 5, {50, 50, 30, 20, 10}, {W, W, N, N, L}},
    {"tie at the bottom: both neutral", 5, {50, 40, 30, 10, 10}, {W, N, N, N, N}},
    {"one scored, four zero: zeros tie, neutral", 5, {0, 0, 7, 0, 0}, {N, N, W, N, N}},
    {"single item with a score: winner", 1, {3}, {W}},
    {"two items: winner, no loser", 2, {1, 2}, {N, W}},
    {"four items: one winner, no loser", 4, {4, 3, 2, 1}, {W, N, N, N}},
    {"ten items: two winners, two losers", 10, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {L, L, N, N, N, N, N, N, W, W}},
    {"ten, tie across the winner edge", 10, {9, 9, 9, 4, 5, 6, 7, 8, 1, 2}, {W, W, W, N, N, N, N, N, L, L}},
    {"all equal non-zero: all winners (ties share the better class)", 5, {3, 3, 3, 3, 3}, {W, W, W, W, W}},
    {"negative scores never happen but still rank", 5, {-1, 0, 1, 2, 3}, {L, N, N, N, W}},
};

int main(void)
{
    for (size_t i = 0; i < sizeof score_rows / sizeof *score_rows; i++) {
        double ctr = 99;
        double s = cl_score(&score_rows[i].in, &ctr);
        if (fabs(s - score_rows[i].score) > 1e-9 || fabs(ctr - score_rows[i].ctr) > 1e-12)
            fprintf(stderr, "score row %zu: got %.6f ctr %.6f, want %.6f ctr %.6f\n", i, s, ctr,
                    score_rows[i].score, score_rows[i].ctr);
        CHECK(fabs(s - score_rows[i].score) < 1e-9);
        CHECK(fabs(ctr - score_rows[i].ctr) < 1e-12);
    }
    CHECK(cl_score(&score_rows[1].in, NULL) == 20); /* ctr_out optional */

    for (size_t i = 0; i < sizeof class_rows / sizeof *class_rows; i++) {
        cl_item_class got[10];
        cl_classify(class_rows[i].scores, class_rows[i].n, got);
        int same = 1, winners = 0;
        for (size_t k = 0; k < class_rows[i].n; k++) {
            same &= got[k] == class_rows[i].want[k];
            winners += got[k] == CL_CLASS_WINNER;
        }
        if (!same) {
            fprintf(stderr, "class row \"%s\":", class_rows[i].what);
            for (size_t k = 0; k < class_rows[i].n; k++)
                fprintf(stderr, " %s", cl_item_class_name(got[k]));
            fprintf(stderr, "\n");
        }
        CHECK(same);
        /* at least one winner whenever some score is non-zero */
        int nonzero = 0;
        for (size_t k = 0; k < class_rows[i].n; k++)
            nonzero |= class_rows[i].scores[k] != 0;
        CHECK(!nonzero || winners >= 1);
    }

    CHECK_STR(cl_item_class_name(CL_CLASS_WINNER), "winner");
    CHECK_STR(cl_item_class_name(CL_CLASS_NEUTRAL), "neutral");
    CHECK_STR(cl_item_class_name(CL_CLASS_LOSER), "loser");
    CHECK(cl_currency_exponent("NGN") == 2);
    CHECK(cl_currency_exponent("USD") == 2);
    CHECK(cl_currency_exponent("JPY") == 0);
    CHECK(cl_currency_exponent("XOF") == 0);
    CHECK(cl_currency_exponent("KWD") == 3);
    CHECK(cl_currency_exponent("XPF") == 0); /* last of its list */
    CHECK(cl_currency_exponent(NULL) == 2);
    return unit_done("test_score");
}
