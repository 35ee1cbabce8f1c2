/* The control protocol's command parser. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "control.h"

static int
parse(const char *s, enum control_cmd *cmd)
{
	return control_parse(s, strlen(s), cmd);
}

static const struct {
	const char		*line;
	enum control_cmd	 cmd;
} commands[] = {
	{ "reload", CONTROL_RELOAD },
	{ "status", CONTROL_STATUS },
	{ "status json", CONTROL_STATUS },
	{ "status text", CONTROL_STATUS_TEXT },
	{ "stop", CONTROL_STOP },
	{ "reopen", CONTROL_REOPEN },
	{ "promote", CONTROL_PROMOTE },
	{ "rollback", CONTROL_ROLLBACK },
	/* socat and telnet send CRLF. */
	{ "stop\r", CONTROL_STOP },
};

START_TEST(test_commands)
{
	enum control_cmd	 cmd;

	ck_assert_msg(parse(commands[_i].line, &cmd) == 0, "'%s' refused",
	    commands[_i].line);
	ck_assert_msg(cmd == commands[_i].cmd, "'%s': command %d",
	    commands[_i].line, cmd);
}
END_TEST

START_TEST(test_refused)
{
	enum control_cmd	 cmd;
	char			 big[CONTROL_LINE_MAX + 2];

	ck_assert_int_eq(parse("", &cmd), -1);
	ck_assert_int_eq(parse("Reload", &cmd), -1);
	ck_assert_int_eq(parse("reload now", &cmd), -1);
	ck_assert_int_eq(parse(" reload", &cmd), -1);
	ck_assert_int_eq(parse("reloa", &cmd), -1);
	ck_assert_int_eq(parse("status\r\r", &cmd), -1);
	ck_assert_int_eq(control_parse("stop\0x", 6, &cmd), -1);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(control_parse(big, sizeof(big), &cmd), -1);
}
END_TEST

static int
scale(const char *s, int *n, char **error)
{
	return control_parse_scale(s, strlen(s), n, error);
}

START_TEST(test_scale)
{
	char	*error = NULL;
	int	 n = 0;

	ck_assert_int_eq(scale("scale 3", &n, &error), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(scale("scale 1\r", &n, &error), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(scale("scale 1024", &n, &error), 0);
	ck_assert_int_eq(n, 1024);
	/* Not a scale at all: the same parser is not fooled. */
	ck_assert_int_eq(scale("scaled 3", &n, &error), -1);
	free(error);
}
END_TEST

/* Each is refused with the word in the message, and n left alone. */
static const struct {
	const char	*line;
	const char	*says;
} scale_refused[] = {
	{ "scale", "how many workers?" },
	{ "scale ", "how many workers?" },
	{ "scale 0", "'0' is not a number of workers from 1 to 1024" },
	{ "scale -1", "'-1' is not" },
	{ "scale abc", "'abc' is not" },
	{ "scale 1025", "'1025' is not" },
	{ "scale 99999999999999999999", "'99999999999999999999' is not" },
	{ "scale 3x", "'3x' is not" },
	{ "scale  3", "' 3' is not" },
	{ "scale 3 4", "'3 4' is not" },
	{ "scale +3", "'+3' is not" },
	{ "scale \x01", "'?' is not" },
};

START_TEST(test_scale_refused)
{
	char	*error = NULL;
	int	 n = 7;

	ck_assert_int_eq(scale(scale_refused[_i].line, &n, &error), -1);
	ck_assert_msg(strstr(error, scale_refused[_i].says) != NULL,
	    "'%s': %s", scale_refused[_i].line, error);
	ck_assert_int_eq(n, 7);
	free(error);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("control");
	const TTest	*refused[] = { test_refused, test_scale, NULL };
	const TTest	*none[] = { NULL };

	tcase_add_loop_test(check_case(s, "parse", refused), test_commands, 0,
	    CHECK_NITEMS(commands));
	tcase_add_loop_test(check_case(s, "scale", none), test_scale_refused, 0,
	    CHECK_NITEMS(scale_refused));
	return check_run(s);
}
