/*
 * score.c — score and classification (score.h). Pure: no I/O, no state.
 */
#include "metrics/score.h"

#include <string.h>

double cl_score(const cl_score_input *in, double *ctr_out)
{
    int64_t clicks = in->clicks > 0 ? in->clicks : 0;
    int64_t signups = in->signups > 0 ? in->signups : 0;
    int64_t rev = in->revenue_minor > 0 ? in->revenue_minor : 0;
    double div = 1;
    for (int i = 0; i < in->currency_exponent && i < 4; i++)
        div *= 10;
    double ctr = -1;
    if (in->views > 0)
        ctr = (double)clicks / (double)in->views;
    if (ctr_out)
        *ctr_out = ctr;
    return (double)rev / div * 100.0 + (double)signups * 20.0 + (double)clicks * 2.0 + (ctr >= 0 ? ctr * 5.0 : 0);
}

void cl_classify(const double *scores, size_t n, cl_item_class *out)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = CL_CLASS_NEUTRAL;
        if (scores[i] != 0)
            any = 1;
    }
    if (!any)
        return;
    size_t k = n / 5, winners = k ? k : 1, losers = k;
    if (losers > n - winners)
        losers = n - winners;
    for (size_t i = 0; i < n; i++) {
        size_t higher = 0;
        for (size_t j = 0; j < n; j++)
            if (scores[j] > scores[i])
                higher++;
        if (higher < winners)
            out[i] = CL_CLASS_WINNER;
        else if (losers && higher >= n - losers)
            out[i] = CL_CLASS_LOSER;
    }
}

const char *cl_item_class_name(cl_item_class c)
{
    return c == CL_CLASS_WINNER ? "winner" : c == CL_CLASS_LOSER ? "loser" : "neutral";
}

int cl_currency_exponent(const char *code)
{
    static const char *const zero = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
    static const char *const three = "BHD IQD JOD KWD LYD OMR TND";
    if (!code || strlen(code) != 3)
        return 2;
    for (const char *p = zero; *p; p += p[3] ? 4 : 3)
        if (!strncmp(p, code, 3))
            return 0;
    for (const char *p = three; *p; p += p[3] ? 4 : 3)
        if (!strncmp(p, code, 3))
            return 3;
    return 2;
}
