/*
 * rollout.c: who gets new connections, from the generations' states and
 * canary shares alone (the route itself is check_steer's).
 */
#include <check.h>

#include "check_run.h"
#include "generation.h"
#include "rollout.h"
#include "steer.h"

#define MAXGENS		3
#define WHOLE		STEER_CANARY_WHOLE

static const struct {
	const char		*what;
	size_t			 n;
	enum generation_state	 states[MAXGENS];
	unsigned		 shares[MAXGENS];
	int			 active, candidate;
	unsigned		 canary;
	unsigned		 share[MAXGENS];	/* rollout_share() */
} cases[] = {
	{ "the first generation serves while it starts: nothing else would",
	    1, { GENERATION_STARTING }, { 0 }, 0, 0, 0, { WHOLE } },
	{ "a starting candidate gets probes only, its share not yet",
	    2, { GENERATION_ACTIVE, GENERATION_STARTING }, { 0, 1000 },
	    0, 1, 0, { WHOLE, 0 } },
	{ "in its canary it gets its share, the active one the rest",
	    3, { GENERATION_DRAINING, GENERATION_ACTIVE, GENERATION_CANARY },
	    { 0, 0, 1000 }, 1, 2, 1000, { 0, WHOLE - 1000, 1000 } },
	{ "rolled back, its share is 0 at once",
	    2, { GENERATION_ACTIVE, GENERATION_ROLLED_BACK }, { 0, 0 },
	    0, -1, 0, { WHOLE, 0 } },
	{ "promoted, the newest active one has it all",
	    3, { GENERATION_ACTIVE, GENERATION_ACTIVE, GENERATION_GONE },
	    { 0, 0, 0 }, 1, -1, 0, { 0, WHOLE, 0 } },
	{ "a share out of range is capped at every connection",
	    2, { GENERATION_ACTIVE, GENERATION_CANARY }, { 0, 3 * WHOLE },
	    0, 1, WHOLE, { 0, WHOLE } },
	{ "nothing live: nobody gets anything",
	    2, { GENERATION_GONE, GENERATION_ROLLED_BACK }, { 0, 0 },
	    -1, -1, 0, { 0, 0 } },
};

START_TEST(test_pick)
{
	struct rollout_pick	 p;
	size_t			 i;

	rollout_pick(cases[_i].states, cases[_i].shares, cases[_i].n, &p);
	ck_assert_msg(p.active == cases[_i].active, "%s: active %d",
	    cases[_i].what, p.active);
	ck_assert_msg(p.candidate == cases[_i].candidate, "%s: candidate %d",
	    cases[_i].what, p.candidate);
	ck_assert_msg(p.canary == cases[_i].canary, "%s: canary %u",
	    cases[_i].what, p.canary);
	for (i = 0; i < cases[_i].n; i++)
		ck_assert_msg(rollout_share(&p, i) == cases[_i].share[i],
		    "%s: generation %zu's share %u", cases[_i].what, i,
		    rollout_share(&p, i));
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("rollout");
	const TTest	*none[] = { NULL };

	tcase_add_loop_test(check_case(s, "pick", none), test_pick, 0,
	    CHECK_NITEMS(cases));
	return check_run(s);
}
