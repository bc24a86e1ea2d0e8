/*
 * test_cycles.c — the publish state machine as a table: every one of the
 * 7 x 7 (from, to) pairs is listed with the expected answer, so adding or
 * removing a transition in host/cycles/states.c fails here until the table
 * below (and docs/cycles.md) say the same. Also the state names, the SQL
 * source lists and the time zone check.
 */
#include "core/tz.h"
#include "cycles/states.h"
#include "unit.h"

#include <stdlib.h>

#define D CL_PUB_DRAFT
#define AP CL_PUB_APPROVED
#define SC CL_PUB_SCHEDULED
#define PG CL_PUB_PUBLISHING
#define PB CL_PUB_PUBLISHED
#define FL CL_PUB_FAILED
#define SK CL_PUB_SKIPPED

/* expected[from][to]; columns: draft approved scheduled publishing published failed skipped */
static const int expected[CL_PUB_STATE_COUNT][CL_PUB_STATE_COUNT] = {
    /* draft      */ {0, 1, 0, 0, 0, 0, 1},
    /* approved   */ {1, 0, 1, 0, 0, 0, 1},
    /* scheduled  */ {0, 1, 0, 1, 0, 1, 1},
    /* publishing */ {0, 0, 0, 0, 1, 1, 0},
    /* published  */ {0, 0, 0, 0, 0, 0, 0},
    /* failed     */ {1, 1, 1, 0, 0, 0, 1},
    /* skipped    */ {0, 0, 0, 0, 0, 0, 0},
};

int main(void)
{
    int allowed = 0, refused = 0;
    for (int f = 0; f < CL_PUB_STATE_COUNT; f++)
        for (int t = 0; t < CL_PUB_STATE_COUNT; t++) {
            int got = cl_pub_transition_allowed((cl_pub_state)f, (cl_pub_state)t);
            if (got != expected[f][t])
                fprintf(stderr, "pair %s -> %s: table says %d, expected %d\n", cl_pub_state_name((cl_pub_state)f),
                        cl_pub_state_name((cl_pub_state)t), got, expected[f][t]);
            CHECK(got == expected[f][t]);
            if (got)
                allowed++;
            else
                refused++;
        }
    CHECK(allowed == 15);
    CHECK(refused == 34);
    /* out of range */
    CHECK(!cl_pub_transition_allowed((cl_pub_state)-1, D));
    CHECK(!cl_pub_transition_allowed(D, (cl_pub_state)CL_PUB_STATE_COUNT));

    /* names round-trip; unknown names are refused */
    static const char *const names[] = {"draft", "approved", "scheduled", "publishing", "published", "failed", "skipped"};
    for (int i = 0; i < CL_PUB_STATE_COUNT; i++) {
        cl_pub_state s;
        CHECK_STR(cl_pub_state_name((cl_pub_state)i), names[i]);
        CHECK(cl_pub_state_parse(names[i], &s) == 0 && s == (cl_pub_state)i);
    }
    cl_pub_state s;
    CHECK(cl_pub_state_parse("unpublished", &s) == -1);
    CHECK(cl_pub_state_parse("", &s) == -1);
    CHECK(cl_pub_state_parse(NULL, &s) == -1);
    CHECK_STR(cl_pub_state_name((cl_pub_state)99), "?");

    /* the SQL lists the UPDATE uses are the table's columns */
    char buf[128];
    CHECK_STR(cl_pub_sources_literal(AP, buf, sizeof buf), "{draft,scheduled,failed}");
    CHECK_STR(cl_pub_sources_literal(SC, buf, sizeof buf), "{approved,failed}");
    CHECK_STR(cl_pub_sources_literal(PG, buf, sizeof buf), "{scheduled}");
    CHECK_STR(cl_pub_sources_literal(PB, buf, sizeof buf), "{publishing}");
    CHECK_STR(cl_pub_sources_literal(D, buf, sizeof buf), "{approved,failed}");
    CHECK_STR(cl_pub_sources_literal(SK, buf, sizeof buf), "{draft,approved,scheduled,failed}");

    /* time zones: the system database decides */
    CHECK(cl_tz_valid("UTC"));
    CHECK(cl_tz_valid("Africa/Lagos"));
    CHECK(cl_tz_valid("America/Argentina/Buenos_Aires"));
    CHECK(cl_tz_valid("Etc/GMT+1"));
    CHECK(!cl_tz_valid("Mars/Olympus_Mons"));
    CHECK(!cl_tz_valid("../../etc/passwd"));
    CHECK(!cl_tz_valid("Africa/../UTC"));
    CHECK(!cl_tz_valid("/UTC"));
    CHECK(!cl_tz_valid("Africa/"));
    CHECK(!cl_tz_valid("Africa//Lagos"));
    CHECK(!cl_tz_valid(""));
    CHECK(!cl_tz_valid(NULL));
    CHECK(!cl_tz_valid("Africa"));     /* a directory, not a zone file */
    CHECK(!cl_tz_valid("zone.tab"));   /* a file, but not a zone */
    CHECK(!cl_tz_valid("posix/UTC"));
    CHECK(!cl_tz_valid("Africa/Lagos Time"));
    /* a different zone database directory */
    setenv("CLIPLOOP_ZONEINFO_DIR", "/nonexistent", 1);
    CHECK(!cl_tz_valid("UTC"));
    unsetenv("CLIPLOOP_ZONEINFO_DIR");
    return unit_done("test_cycles");
}
