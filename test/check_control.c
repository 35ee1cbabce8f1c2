/* The control protocol's command parser. */
#include <check.h>
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

int
main(void)
{
	Suite		*s = suite_create("control");
	const TTest	*refused[] = { test_refused, NULL };

	tcase_add_loop_test(check_case(s, "parse", refused), test_commands, 0,
	    CHECK_NITEMS(commands));
	return check_run(s);
}
