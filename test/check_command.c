/*
 * command.c: shell-like splitting without a shell, placeholders, joining.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "command.h"

#define MAXWORDS	8

static const struct {
	const char	*in;
	const char	*words[MAXWORDS];	/* NULL-terminated */
	const char	*error;			/* NULL: splits */
} split[] = {
	{ "node app.js", { "node", "app.js" }, NULL },
	{ "  a   b  ", { "a", "b" }, NULL },
	{ "a\tb\nc", { "a", "b", "c" }, NULL },
	{ "x", { "x" }, NULL },
	{ "'a b' c", { "a b", "c" }, NULL },
	{ "'' x", { "", "x" }, NULL },
	{ "x ''", { "x", "" }, NULL },
	{ "\"\"", { "" }, NULL },
	{ "a''b", { "ab" }, NULL },
	{ "a'b c'd", { "ab cd" }, NULL },
	{ "'$HOME \\n \" x'", { "$HOME \\n \" x" }, NULL },
	{ "\"a \\\" b\"", { "a \" b" }, NULL },
	{ "\"\\$HOME \\` \\\\ x\"", { "$HOME ` \\ x" }, NULL },
	/* In double quotes other backslashes stay. */
	{ "\"\\n\\a\\'\"", { "\\n\\a\\'" }, NULL },
	{ "\"it's\"", { "it's" }, NULL },
	{ "'say \"hi\"'", { "say \"hi\"" }, NULL },
	{ "\"a\\\nb\"", { "ab" }, NULL },
	{ "\"a\nb\"", { "a\nb" }, NULL },
	/* Outside quotes a backslash escapes anything. */
	{ "a\\ b", { "a b" }, NULL },
	{ "\\'x \\\"y \\\\z \\n", { "'x", "\"y", "\\z", "n" }, NULL },
	{ "a\\\nb", { "ab" }, NULL },
	{ "a \\\n b", { "a", "b" }, NULL },
	{ "\\\n a", { "a" }, NULL },
	{ "a\\ ", { "a " }, NULL },
	/* No shell: no variables, comments, globs or operators. */
	{ "$HOME ~ *.c a#b #c a;b |", { "$HOME", "~", "*.c", "a#b", "#c",
	    "a;b", "|" }, NULL },
	{ "--fd={fd:http} {worker}", { "--fd={fd:http}", "{worker}" }, NULL },
	{ "sh -c 'exec \"$0\" \"$@\"' x", { "sh", "-c",
	    "exec \"$0\" \"$@\"", "x" }, NULL },
	{ "'abc", { NULL }, "unterminated single quote" },
	{ "a 'b c", { NULL }, "unterminated single quote" },
	{ "\"abc", { NULL }, "unterminated double quote" },
	{ "\"abc\\\"", { NULL }, "unterminated double quote" },
	{ "\"abc\\", { NULL }, "unterminated double quote" },
	{ "abc \\", { NULL }, "backslash at the end of the command" },
	{ "", { NULL }, "command is empty" },
	{ " \t\n ", { NULL }, "command is empty" },
	{ "\\\n", { NULL }, "command is empty" },
};

START_TEST(test_split)
{
	char	**argv, *error = NULL;
	size_t	  i;

	argv = command_split(split[_i].in, &error);
	if (split[_i].error != NULL) {
		ck_assert_msg(argv == NULL, "'%s' was split", split[_i].in);
		ck_assert_str_eq(error, split[_i].error);
		free(error);
		return;
	}
	ck_assert_msg(argv != NULL, "'%s': %s", split[_i].in, error);
	for (i = 0; split[_i].words[i] != NULL; i++) {
		ck_assert_msg(argv[i] != NULL, "'%s': word %zu missing",
		    split[_i].in, i);
		ck_assert_str_eq(argv[i], split[_i].words[i]);
	}
	ck_assert_msg(argv[i] == NULL, "'%s': extra word '%s'", split[_i].in,
	    argv[i]);
	command_free(argv);
}
END_TEST

static char *const names[] = { "http", "admin" };

START_TEST(test_expand)
{
	static char *const argv[] = { "server", "--fd={fd:http}",
	    "{fd:admin}", "{fd:http},{fd:admin}", "g{generation}w{worker}",
	    "{other}", "{fd:nosuch}", "{fd:http", "{", "{{worker}}", "}", "",
	    "{fd:}", "{generation}{generation}", NULL };
	static const char *const want[] = { "server", "--fd=3", "4", "3,4",
	    "g7w2", "{other}", "{fd:nosuch}", "{fd:http", "{", "{2}", "}", "",
	    "{fd:}", "77", NULL };
	char		**out;
	size_t		  i;

	out = command_expand(argv, names, 2, 7, 2);
	for (i = 0; want[i] != NULL; i++) {
		ck_assert_ptr_nonnull(out[i]);
		ck_assert_str_eq(out[i], want[i]);
	}
	ck_assert_ptr_null(out[i]);
	/* The input is untouched. */
	ck_assert_str_eq(argv[1], "--fd={fd:http}");
	command_free(out);
}
END_TEST

START_TEST(test_check)
{
	static char *const ok[] = { "a", "{fd:http}", "x{fd:admin}y{worker}",
	    "{fd:http", "{other}", NULL };
	static char *const missing[] = { "a", "--fd={fd:http}",
	    "--admin={fd:admn}", NULL };
	static char *const empty[] = { "{fd:}", NULL };
	char		*error = NULL;

	ck_assert_int_eq(command_check(ok, names, 2, &error), 0);
	ck_assert_int_eq(command_check(missing, names, 2, &error), -1);
	ck_assert_str_eq(error, "{fd:admn}: no socket named 'admn'");
	free(error);
	ck_assert_int_eq(command_check(empty, names, 2, &error), -1);
	ck_assert_str_eq(error, "{fd:}: no socket named ''");
	free(error);
}
END_TEST

static const struct {
	const char	*words[MAXWORDS];
	const char	*joined;
} join[] = {
	{ { "node", "app.js" }, "node app.js" },
	{ { "--fd={fd:http}", "a=b,c:d/e@f%g+h" },
	    "--fd={fd:http} a=b,c:d/e@f%g+h" },
	{ { "a b" }, "'a b'" },
	{ { "" }, "''" },
	{ { "x", "", "y" }, "x '' y" },
	{ { "it's" }, "'it'\\''s'" },
	{ { "$HOME" }, "'$HOME'" },
	{ { "\"" }, "'\"'" },
	{ { "\\" }, "'\\'" },
	{ { "find", ".", "-exec", "rm", "{}", ";" },
	    "find . -exec rm {} ';'" },
	/* inih would cut a line at " ;". */
	{ { "a ;b" }, "'a '';b'" },
	{ { "a\t;b" }, "'a\t'';b'" },
	{ { "#x", "[y]" }, "'#x' '[y]'" },
	{ { "a;b" }, "'a;b'" },
};

START_TEST(test_join)
{
	char	*s;

	s = command_join((char *const *)join[_i].words);
	ck_assert_str_eq(s, join[_i].joined);
	free(s);
}
END_TEST

/* command_split(command_join(argv)) gives argv back. */
static const char *const roundtrip[][MAXWORDS] = {
	{ "node", "app.js" },
	{ "" },
	{ "", "" },
	{ "a b", "c  d", " lead", "trail " },
	{ "it's", "'", "''", "'\\''" },
	{ "\"", "\\", "\\\\", "\\n", "$x", "`x`" },
	{ "a ;b", " ;", ";", "; ;" },
	{ "#", "[", "]", "{", "}", "{fd:http}" },
	{ "tab\there", "new\nline", "cr\rx" },
	{ "caf\xc3\xa9", "*", "?", "~", "!", "&&", "|" },
	{ "sh", "-c", "exec \"$0\" \"$@\" ; echo 'done'" },
};

START_TEST(test_roundtrip)
{
	const char *const	 *words = roundtrip[_i];
	char			**argv, *s, *error = NULL;
	size_t			  i;

	s = command_join((char *const *)words);
	ck_assert_msg(strstr(s, " ;") == NULL && strstr(s, "\t;") == NULL,
	    "'%s' has an inih comment", s);
	argv = command_split(s, &error);
	ck_assert_msg(argv != NULL, "'%s': %s", s, error);
	for (i = 0; words[i] != NULL; i++) {
		ck_assert_msg(argv[i] != NULL, "'%s': word %zu missing", s, i);
		ck_assert_str_eq(argv[i], words[i]);
	}
	ck_assert_ptr_null(argv[i]);
	command_free(argv);
	free(s);
}
END_TEST

START_TEST(test_copy)
{
	static char *const argv[] = { "a", "", "b c", NULL };
	static char *const none[] = { NULL };
	char	**copy;

	copy = command_copy(argv);
	ck_assert_str_eq(copy[0], "a");
	ck_assert_str_eq(copy[1], "");
	ck_assert_str_eq(copy[2], "b c");
	ck_assert_ptr_null(copy[3]);
	ck_assert_ptr_ne(copy[0], argv[0]);
	command_free(copy);
	copy = command_copy(none);
	ck_assert_ptr_null(copy[0]);
	command_free(copy);
	command_free(NULL);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("command");
	const TTest	*none[] = { NULL };
	const TTest	*expand[] = { test_expand, test_check, NULL };
	const TTest	*join_copy[] = { test_copy, NULL };
	TCase		*tc;

	tc = check_case(s, "split", none);
	tcase_add_loop_test(tc, test_split, 0, CHECK_NITEMS(split));
	check_case(s, "expand", expand);
	tc = check_case(s, "join", join_copy);
	tcase_add_loop_test(tc, test_join, 0, CHECK_NITEMS(join));
	tcase_add_loop_test(tc, test_roundtrip, 0, CHECK_NITEMS(roundtrip));
	return check_run(s);
}
