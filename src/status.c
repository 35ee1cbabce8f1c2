#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "config.h"
#include "generation.h"
#include "json.h"
#include "rollout.h"
#include "status.h"
#include "worker.h"

/* ISO 8601 local time of a monotonic instant. */
static void
status_time(char *buf, size_t len, long long mono_ms)
{
	time_t		 t = time(NULL) - (clock_ms() - mono_ms) / 1000;
	struct tm	 tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

static void
status_age(char *buf, size_t len, long long ms)
{
	long long	 s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

/* A share of new connections (of STEER_CANARY_WHOLE) in percent. */
static void
status_share(char *buf, size_t len, unsigned share)
{
	if (share % 100 == 0)
		snprintf(buf, len, "%u%%", share / 100);
	else
		snprintf(buf, len, "%u.%02u%%", share / 100, share % 100);
}

/* ,"key":ms in JSON; a negative ms (none) is null. */
static void
status_ms(struct evbuffer *out, const char *key, long long ms)
{
	if (ms >= 0)
		evbuffer_add_printf(out, ",\"%s\":%lld", key, ms);
	else
		evbuffer_add_printf(out, ",\"%s\":null", key);
}

/* The newest generation's file: what a reload reads now. */
static const char *
status_config_file(const struct status *st)
{
	if (st->ngens == 0)
		return NULL;
	return generation_config(st->gens[st->ngens - 1])->file;
}

/* A scale under way, by its direction; NULL: none. */
static const char *
status_scaling(const struct generation *g)
{
	switch (generation_scaling(g)) {
	case 1:
		return "up";
	case -1:
		return "down";
	}
	return NULL;
}

static void
status_json(const struct status *st, struct evbuffer *out)
{
	struct generation	*g;
	struct worker		*w;
	char			 when[64];
	unsigned		 share;
	size_t			 i, j;

	status_time(when, sizeof(when), st->started_ms);
	evbuffer_add_printf(out, "{\"pid\":%ld,\"version\":\"%s\",\"config\":",
	    (long)getpid(), PACKAGE_VERSION);
	json_string(out, status_config_file(st));
	evbuffer_add_printf(out, ",\"state\":\"%s\",\"started\":\"%s\","
	    "\"uptime_ms\":%lld,\"generations\":[",
	    st->state, when, clock_ms() - st->started_ms);
	for (i = st->ngens; i-- > 0;) {
		g = st->gens[i];
		status_time(when, sizeof(when), generation_started(g));
		evbuffer_add_printf(out, "%s{\"number\":%d,\"state\":\"%s\","
		    "\"started\":\"%s\",\"failure\":",
		    i + 1 < st->ngens ? "," : "", generation_number(g),
		    generation_state_name(generation_state(g)), when);
		json_string(out, generation_failure(g));
		share = rollout_gen_share(st->gens, st->ngens, i);
		evbuffer_add_printf(out, ",\"share\":%u.%02u,\"connections\":",
		    share / 100, share % 100);
		if (generation_connections(g) >= 0)
			evbuffer_add_printf(out, "%lld",
			    generation_connections(g));
		else
			evbuffer_add_printf(out, "null");
		status_ms(out, "canary_left_ms", generation_canary_left(g));
		status_ms(out, "warmup_left_ms", generation_warmup_left(g));
		/* baton scale: slots may differ from the file's count. */
		evbuffer_add_printf(out, ",\"slots\":%zu,\"configured_workers\""
		    ":%d,\"scaling\":", generation_slots(g),
		    generation_config(g)->workers);
		json_string(out, status_scaling(g));
		evbuffer_add_printf(out, ",\"killed\":%d,\"workers\":[",
		    generation_killed(g));
		for (j = 0; j < generation_nworkers(g); j++) {
			w = generation_worker(g, j);
			evbuffer_add_printf(out, "%s{\"slot\":%d,\"pid\":%ld,"
			    "\"state\":\"%s\",\"restarts\":%d,\"status\":",
			    j > 0 ? "," : "", worker_slot(w),
			    (long)worker_pid(w),
			    worker_state_name(worker_state(w)),
			    worker_restarts(w));
			json_string(out, worker_status_text(w));
			evbuffer_add_printf(out, ",\"last_exit\":");
			json_string(out, *worker_exit_reason(w) != '\0' ?
			    worker_exit_reason(w) : NULL);
			evbuffer_add_printf(out, ",\"probe_failure\":");
			json_string(out, worker_probe_failure(w));
			evbuffer_add_printf(out, ",\"role\":\"%s\"}",
			    generation_worker_role(g, j));
		}
		evbuffer_add_printf(out, "]}");
	}
	evbuffer_add_printf(out, "],\"last_reload\":");
	if (st->last_outcome == NULL)
		evbuffer_add_printf(out, "null");
	else {
		struct tm	 tm;

		localtime_r(&st->last_at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
		evbuffer_add_printf(out, "{\"outcome\":\"%s\",\"duration_ms\":"
		    "%lld,\"at\":\"%s\",\"reason\":",
		    st->last_outcome, st->last_duration,
		    when);
		json_string(out, st->last_reason);
		evbuffer_add_printf(out, "}");
	}
	evbuffer_add_printf(out, ",\"output\":");
	if (st->output == NULL)
		evbuffer_add_printf(out, "null");
	else {
		evbuffer_add_printf(out, "{\"file\":");
		json_string(out, st->output);
		evbuffer_add_printf(out, ",\"lines\":%llu,\"bytes\":%llu,"
		    "\"dropped_lines\":%llu,\"dropped_bytes\":%llu,"
		    "\"rotations\":%llu}", st->output_counters.lines,
		    st->output_counters.bytes,
		    st->output_counters.dropped_lines,
		    st->output_counters.dropped_bytes,
		    st->output_counters.rotations);
	}
	evbuffer_add_printf(out, ",\"counters\":{\"reloads\":%d,\"rollbacks\":%d,"
	    "\"crashes\":%d,\"killed\":%d,\"upgrades\":%d,\"recycled\":%d}}",
	    st->reloads, st->rollbacks, st->crashes, st->killed, st->upgrades,
	    st->recycled);
}

static void
status_text(const struct status *st, struct evbuffer *out)
{
	struct generation	*g;
	struct worker		*w;
	const char		*file = status_config_file(st);
	char			 age[32], share[16], conns[24];
	size_t			 i, j;

	status_age(age, sizeof(age), clock_ms() - st->started_ms);
	evbuffer_add_printf(out, "baton %s, pid %ld, up %s, %s\n",
	    PACKAGE_VERSION, (long)getpid(), age,
	    st->state);
	if (file != NULL)
		evbuffer_add_printf(out, "config %s\n", file);
	evbuffer_add_printf(out, "\n%-5s %-12s %-8s %-7s %-9s %-7s %-8s %-9s "
	    "%s\n", "GEN", "STATE", "AGE", "SHARE", "CONNS", "WORKER", "PID",
	    "STATE", "RESTARTS");
	for (i = st->ngens; i-- > 0;) {
		g = st->gens[i];
		status_age(age, sizeof(age), clock_ms() - generation_started(g));
		status_share(share, sizeof(share),
		    rollout_gen_share(st->gens, st->ngens, i));
		if (generation_connections(g) >= 0)
			snprintf(conns, sizeof(conns), "%lld",
			    generation_connections(g));
		else
			snprintf(conns, sizeof(conns), "-");
		for (j = 0; j < generation_nworkers(g); j++) {
			w = generation_worker(g, j);
			if (j == 0)
				evbuffer_add_printf(out, "%-5d %-12s %-8s %-7s "
				    "%-9s ", generation_number(g),
				    generation_state_name(generation_state(g)),
				    age, share, conns);
			else
				evbuffer_add_printf(out, "%-5s %-12s %-8s %-7s "
				    "%-9s ", "", "", "", "", "");
			evbuffer_add_printf(out, "%-7d %-8ld %-9s %d%s%s\n",
			    worker_slot(w), (long)worker_pid(w),
			    worker_state_name(worker_state(w)),
			    worker_restarts(w), strcmp(generation_worker_role(g,
			    j), "serving") != 0 ? "  " : "",
			    strcmp(generation_worker_role(g, j), "serving") !=
			    0 ? generation_worker_role(g, j) : "");
			if (worker_probe_failure(w) != NULL)
				evbuffer_add_printf(out, "%-45s probe failed: "
				    "%s\n", "", worker_probe_failure(w));
		}
		if (generation_canary_left(g) >= 0)
			evbuffer_add_printf(out, "      canary: promoted in %lld "
			    "ms (baton promote, baton rollback)\n",
			    generation_canary_left(g));
		if (generation_warmup_left(g) >= 0)
			evbuffer_add_printf(out, "      warming up: active in %lld "
			    "ms (baton promote, baton rollback)\n",
			    generation_warmup_left(g));
		if (generation_failure(g) != NULL)
			evbuffer_add_printf(out, "      rolled back: %s\n",
			    generation_failure(g));
		if (status_scaling(g) != NULL ||
		    generation_slots(g) != (size_t)generation_config(g)->workers)
			evbuffer_add_printf(out, "      %s%zu worker%s, its "
			    "configuration says %d (baton scale; a reload starts "
			    "%d)\n", status_scaling(g) == NULL ? "scaled: " :
			    generation_scaling(g) == 1 ? "scaling up to " :
			    "scaling down to ", generation_slots(g),
			    generation_slots(g) == 1 ? "" : "s",
			    generation_config(g)->workers,
			    generation_config(g)->workers);
	}
	if (st->last_outcome == NULL)
		evbuffer_add_printf(out, "\nlast reload: none\n");
	else {
		status_age(age, sizeof(age),
		    (long long)(time(NULL) - st->last_at) * 1000);
		evbuffer_add_printf(out, "\nlast reload: %s in %lld ms, %s ago%s%s\n",
		    st->last_outcome, st->last_duration,
		    age, st->last_reason != NULL ? ": " : "",
		    st->last_reason != NULL ? st->last_reason : "");
	}
	evbuffer_add_printf(out, "counters: reloads %d, rollbacks %d, crashes %d, "
	    "killed at the drain deadline %d, upgrades %d, recycled %d\n",
	    st->reloads, st->rollbacks, st->crashes, st->killed, st->upgrades,
	    st->recycled);
	if (st->output != NULL)
		evbuffer_add_printf(out, "output: %s, lines %llu, dropped %llu "
		    "(%llu bytes), rotations %llu\n", st->output,
		    st->output_counters.lines,
		    st->output_counters.dropped_lines,
		    st->output_counters.dropped_bytes,
		    st->output_counters.rotations);
}

void
status_render(const struct status *st, struct evbuffer *out, int json)
{
	if (json)
		status_json(st, out);
	else
		status_text(st, out);
}
