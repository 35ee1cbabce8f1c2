/*
 * rollout.c: who gets new connections, from the generations' states and
 * canary shares alone (the route itself is check_steer's).
 */
#include <check.h>

#include "check_run.h"
#include "generation.h"
#include "rollout.h"
#include "steer.h"

#define S_START		GENERATION_STARTING
#define S_CANARY	GENERATION_CANARY
#define S_ACTIVE	GENERATION_ACTIVE
#define S_DRAIN		GENERATION_DRAINING
#define S_BACK		GENERATION_ROLLED_BACK
#define S_GONE		GENERATION_GONE

static struct rollout_pick
pick(const enum generation_state *states, const unsigned *shares, size_t n)
{
	struct rollout_pick	 p;

	rollout_pick(states, shares, n, &p);
	return p;
}

/* The first generation serves while it starts: nothing else would. */
START_TEST(test_first)
{
	enum generation_state	 st[] = { S_START };
	unsigned		 sh[] = { 0 };
	struct rollout_pick	 p = pick(st, sh, 1);

	ck_assert_int_eq(p.active, 0);
	ck_assert_int_eq(p.candidate, 0);
	ck_assert_uint_eq(p.canary, 0);
	ck_assert_uint_eq(rollout_share(&p, 0), STEER_CANARY_WHOLE);
}
END_TEST

/* A starting candidate gets probes only: no share of users. */
START_TEST(test_starting)
{
	enum generation_state	 st[] = { S_ACTIVE, S_START };
	unsigned		 sh[] = { 0, 1000 };
	struct rollout_pick	 p = pick(st, sh, 2);

	ck_assert_int_eq(p.active, 0);
	ck_assert_int_eq(p.candidate, 1);
	ck_assert_uint_eq(p.canary, 0);
	ck_assert_uint_eq(rollout_share(&p, 0), STEER_CANARY_WHOLE);
	ck_assert_uint_eq(rollout_share(&p, 1), 0);
}
END_TEST

/* In its canary it gets its share, the active one the rest. */
START_TEST(test_canary)
{
	enum generation_state	 st[] = { S_DRAIN, S_ACTIVE, S_CANARY };
	unsigned		 sh[] = { 0, 0, 1000 };
	struct rollout_pick	 p = pick(st, sh, 3);

	ck_assert_int_eq(p.active, 1);
	ck_assert_int_eq(p.candidate, 2);
	ck_assert_uint_eq(p.canary, 1000);
	ck_assert_uint_eq(rollout_share(&p, 0), 0);
	ck_assert_uint_eq(rollout_share(&p, 1), STEER_CANARY_WHOLE - 1000);
	ck_assert_uint_eq(rollout_share(&p, 2), 1000);
}
END_TEST

/* Rolled back: its share is 0 at once, the active one has it all. */
START_TEST(test_rolled_back)
{
	enum generation_state	 st[] = { S_ACTIVE, S_BACK };
	unsigned		 sh[] = { 0, 0 };
	struct rollout_pick	 p = pick(st, sh, 2);

	ck_assert_int_eq(p.active, 0);
	ck_assert_int_eq(p.candidate, -1);
	ck_assert_uint_eq(rollout_share(&p, 0), STEER_CANARY_WHOLE);
	ck_assert_uint_eq(rollout_share(&p, 1), 0);
}
END_TEST

/* Promoted: the newest active one has it all, the old one drains. */
START_TEST(test_promoted)
{
	enum generation_state	 st[] = { S_ACTIVE, S_ACTIVE, S_GONE };
	unsigned		 sh[] = { 0, 0, 0 };
	struct rollout_pick	 p = pick(st, sh, 3);

	ck_assert_int_eq(p.active, 1);
	ck_assert_int_eq(p.candidate, -1);
	ck_assert_uint_eq(rollout_share(&p, 0), 0);
	ck_assert_uint_eq(rollout_share(&p, 1), STEER_CANARY_WHOLE);
}
END_TEST

/* A share out of range is capped: never more than every connection. */
START_TEST(test_capped)
{
	enum generation_state	 st[] = { S_ACTIVE, S_CANARY };
	unsigned		 sh[] = { 0, 3 * STEER_CANARY_WHOLE };
	struct rollout_pick	 p = pick(st, sh, 2);

	ck_assert_uint_eq(p.canary, STEER_CANARY_WHOLE);
	ck_assert_uint_eq(rollout_share(&p, 0), 0);
}
END_TEST

/* Nothing live: nobody, and no share. */
START_TEST(test_none)
{
	enum generation_state	 st[] = { S_GONE, S_BACK };
	unsigned		 sh[] = { 0, 0 };
	struct rollout_pick	 p = pick(st, sh, 2);

	ck_assert_int_eq(p.active, -1);
	ck_assert_int_eq(p.candidate, -1);
	ck_assert_uint_eq(rollout_share(&p, 0), 0);
	ck_assert_uint_eq(rollout_share(&p, 1), 0);
}
END_TEST

int
main(void)
{
	return check_main("rollout", NULL, NULL, (const TTest *[]){ test_first,
	    test_starting, test_canary, test_rolled_back, test_promoted,
	    test_capped, test_none, NULL });
}
