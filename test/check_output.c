/*
 * The workers' output file: lines cut from pipes and prefixed, long lines
 * in marked pieces, rotation keeping N, reopen after a rename, and drops
 * counted when the file fails (/dev/full) or is too slow (a FIFO nobody
 * reads), without the caller ever waiting.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check_run.h"
#include "clock.h"
#include "output.h"

static struct event_base	*base;
static char			 dir[64];
static char			 path[PATH_MAX];
static int			 reopens;
static char			 reopen_error[256];
static int			 failing;	/* told: failing, not yet ok */
static int			 fail_told;

static void
told_reopened(void *arg, const char *error)
{
	reopens++;
	snprintf(reopen_error, sizeof(reopen_error), "%s",
	    error != NULL ? error : "");
}

static void
told_failing(void *arg, const char *error)
{
	failing = error != NULL;
	fail_told++;
}

static const struct output_ops ops = { told_reopened, told_failing };

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/check_output.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	reopens = failing = fail_told = 0;
	snprintf(path, sizeof(path), "%s/out.log", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void
teardown(void)
{
	char	 cmd[128];

	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

static struct output *
open_output(const char *file, long long max_size, int keep)
{
	struct output	*out;
	char		*error = NULL;

	out = output_new(base, file, max_size, keep, -1, &ops, NULL, &error);
	if (out == NULL)
		ck_abort_msg("output_new %s: %s", file, error);
	return out;
}

/* Run the loop for ms milliseconds. */
static void
spin(long ms)
{
	long long	 end = clock_ms() + ms;

	while (clock_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* The whole of a file, NUL-terminated; "" if it is not there. */
static char *
slurp(const char *file)
{
	char	*buf;
	FILE	*fp;
	long	 n;

	buf = calloc(1, 1 << 20);
	ck_assert_ptr_nonnull(buf);
	if ((fp = fopen(file, "r")) == NULL)
		return buf;
	n = fread(buf, 1, (1 << 20) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

START_TEST(test_lines_from_a_pipe)
{
	struct output		*out = open_output(path, 0, 5);
	struct output_counters	 c;
	struct stat		 sb;
	int			 p[2];
	char			*text;

	ck_assert_int_eq(pipe(p), 0);
	output_watch(out, p[0], 3, 1, 1234, "stderr");
	/* In bits: a line is whole only once its newline came. */
	ck_assert_int_eq(write(p[1], "one\ntw", 6), 6);
	spin(20);
	ck_assert_int_eq(write(p[1], "o\n\nthree", 8), 8);
	close(p[1]);
	spin(50);
	output_sync(out);
	text = slurp(path);
	ck_assert_str_eq(text,
	    "gen 3 worker 1 pid 1234 stderr: one\n"
	    "gen 3 worker 1 pid 1234 stderr: two\n"
	    "gen 3 worker 1 pid 1234 stderr: \n"
	    "gen 3 worker 1 pid 1234 stderr: three\n");
	free(text);
	output_counters(out, &c);
	ck_assert_uint_eq(c.lines, 4);
	ck_assert_uint_eq(c.dropped_lines, 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0640 & ~umask(022));
	output_free(out);
}
END_TEST

START_TEST(test_long_line_in_pieces)
{
	struct output	*out = open_output(path, 0, 5);
	char		*big, *text, *want;
	size_t		 n = OUTPUT_LINE_MAX * 2 + 10;
	int		 p[2];

	big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\n';
	ck_assert_int_eq(pipe(p), 0);
	output_watch(out, p[0], 1, 0, 7, "stdout");
	/* More than a pipe's buffer: write from a child. */
	if (fork() == 0) {
		(void)!write(p[1], big, n + 1);
		(void)!write(p[1], "end\n", 4);
		_exit(0);
	}
	close(p[1]);
	spin(300);
	wait(NULL);
	output_sync(out);
	text = slurp(path);
	want = malloc(n + 200);
	snprintf(want, n + 200, "gen 1 worker 0 pid 7 stdout+ %.*s\n"
	    "gen 1 worker 0 pid 7 stdout+ %.*s\n"
	    "gen 1 worker 0 pid 7 stdout: %.*s\n"
	    "gen 1 worker 0 pid 7 stdout: end\n", OUTPUT_LINE_MAX, big,
	    OUTPUT_LINE_MAX, big, 10, big);
	ck_assert_str_eq(text, want);
	free(want);
	free(text);
	free(big);
	output_free(out);
}
END_TEST

START_TEST(test_rotation_keeps_n)
{
	struct output		*out = open_output(path, 1000, 2);
	struct output_counters	 c;
	struct stat		 sb;
	char			 name[PATH_MAX + 8], line[64];
	int			 i, n;

	for (i = 0; i < 100; i++) {
		n = snprintf(line, sizeof(line), "line %03d", i);
		ck_assert_int_eq(output_line(out, "p", line, n), 0);
		/* Let the writer see each: it rotates after a write. */
		if (i % 10 == 9)
			output_sync(out);
	}
	output_sync(out);
	output_counters(out, &c);
	ck_assert_uint_eq(c.lines, 100);
	/* 100 lines of 12 bytes, rotated at 1000: 1 rotation at line 84. */
	ck_assert_uint_ge(c.rotations, 1);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_lt(sb.st_size, 1000);
	snprintf(name, sizeof(name), "%s.1", path);
	ck_assert_int_eq(stat(name, &sb), 0);
	ck_assert_int_ge(sb.st_size, 1000);
	output_free(out);

	/* Again and again: only path.1 and path.2 are kept. */
	out = open_output(path, 100, 2);
	for (i = 0; i < 100; i++) {
		n = snprintf(line, sizeof(line), "again %03d", i);
		ck_assert_int_eq(output_line(out, "p", line, n), 0);
		output_sync(out);
	}
	output_counters(out, &c);
	ck_assert_uint_ge(c.rotations, 10);
	output_free(out);
	snprintf(name, sizeof(name), "%s.2", path);
	ck_assert_int_eq(stat(name, &sb), 0);
	snprintf(name, sizeof(name), "%s.3", path);
	ck_assert_int_eq(stat(name, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* The newest lines are in path, the ones before them in path.1. */
	{
		char	*text = slurp(path);

		ck_assert_ptr_nonnull(strstr(text, "again 099"));
		free(text);
	}
}
END_TEST

START_TEST(test_reopen_after_rename)
{
	struct output	*out = open_output(path, 0, 5);
	char		 moved[PATH_MAX + 8], *text;

	ck_assert_int_eq(output_line(out, "p", "before", 6), 0);
	output_sync(out);
	snprintf(moved, sizeof(moved), "%s.old", path);
	ck_assert_int_eq(rename(path, moved), 0);
	/* Renamed and not reopened: it goes on in the moved file. */
	ck_assert_int_eq(output_line(out, "p", "still", 5), 0);
	output_sync(out);
	output_reopen(out);
	spin(100);
	ck_assert_int_eq(reopens, 1);
	ck_assert_str_eq(reopen_error, "");
	ck_assert_int_eq(output_line(out, "p", "after", 5), 0);
	output_sync(out);
	text = slurp(moved);
	ck_assert_str_eq(text, "p: before\np: still\n");
	free(text);
	text = slurp(path);
	ck_assert_str_eq(text, "p: after\n");
	free(text);

	/* A reopen that cannot open says why, and writing goes on. */
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	output_reopen(out);
	spin(100);
	ck_assert_int_eq(reopens, 2);
	ck_assert_ptr_nonnull(strstr(reopen_error, "Is a directory"));
	ck_assert_int_eq(output_line(out, "p", "kept", 4), 0);
	output_sync(out);
	text = slurp(moved);
	ck_assert_str_eq(text, "p: after\np: kept\n");
	free(text);
	output_free(out);
}
END_TEST

START_TEST(test_full_disk_drops)
{
	struct output		*out = open_output("/dev/full", 0, 5);
	struct output_counters	 c;
	int			 i;

	for (i = 0; i < 50; i++)
		ck_assert_int_eq(output_line(out, "p", "lost", 4), 0);
	output_sync(out);
	output_counters(out, &c);
	ck_assert_uint_eq(c.lines, 0);
	ck_assert_uint_eq(c.dropped_lines, 50);
	ck_assert_uint_eq(c.dropped_bytes, 50 * 8);
	/* The loop hears it once, not once a line. */
	spin(50);
	ck_assert_int_eq(fail_told, 1);
	ck_assert_int_eq(failing, 1);
	output_free(out);
}
END_TEST

START_TEST(test_slow_file_drops_without_waiting)
{
	struct output		*out;
	struct output_counters	 c;
	char			 fifo[PATH_MAX + 8], line[1000], buf[65536];
	long long		 t0;
	int			 rfd, i, dropped = 0;
	pid_t			 pid;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ne(rfd, -1);
	out = open_output(fifo, 0, 5);
	memset(line, 'y', sizeof(line));
	/* Nobody reads: the writer blocks, the queue fills, lines drop. */
	t0 = clock_ms();
	for (i = 0; i < 2 * OUTPUT_QUEUE_MAX / (int)sizeof(line); i++)
		if (output_line(out, "p", line, sizeof(line)) == -1)
			dropped++;
	ck_assert_int_lt(clock_ms() - t0, 2000);
	ck_assert_int_gt(dropped, 0);
	output_counters(out, &c);
	ck_assert_uint_eq(c.dropped_lines, (unsigned)dropped);
	/* A reader comes: everything queued goes out. */
	if ((pid = fork()) == 0) {
		/* Not the writing end, or it never sees the end. */
		for (i = 3; i < 1024; i++)
			if (i != rfd)
				close(i);
		fcntl(rfd, F_SETFL, 0);
		while (read(rfd, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(rfd);
	output_sync(out);
	output_counters(out, &c);
	ck_assert_uint_eq(c.lines + c.dropped_lines,
	    (unsigned)(2 * OUTPUT_QUEUE_MAX / (int)sizeof(line)));
	output_free(out);
	waitpid(pid, NULL, 0);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_lines_from_a_pipe, test_long_line_in_pieces,
		test_rotation_keeps_n, test_reopen_after_rename,
		test_full_disk_drops, test_slow_file_drops_without_waiting,
		NULL
	};

	return check_main("output", setup, teardown, tests);
}
