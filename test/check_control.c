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

START_TEST(test_commands)
{
	enum control_cmd	 cmd;

	ck_assert_int_eq(parse("reload", &cmd), 0);
	ck_assert_int_eq(cmd, CONTROL_RELOAD);
	ck_assert_int_eq(parse("status", &cmd), 0);
	ck_assert_int_eq(cmd, CONTROL_STATUS);
	ck_assert_int_eq(parse("status json", &cmd), 0);
	ck_assert_int_eq(cmd, CONTROL_STATUS);
	ck_assert_int_eq(parse("status text", &cmd), 0);
	ck_assert_int_eq(cmd, CONTROL_STATUS_TEXT);
	ck_assert_int_eq(parse("stop", &cmd), 0);
	ck_assert_int_eq(cmd, CONTROL_STOP);
	/* socat and telnet send CRLF. */
	ck_assert_int_eq(parse("stop\r", &cmd), 0);
	ck_assert_int_eq(cmd, CONTROL_STOP);
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

static Suite *
control_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc = tcase_create("parse");

	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(control_suite());
}
