/*
 * envfile.c: the env file's lines, the reload request both ways, and the
 * rule that keeps or drops `baton reload --env`.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "command.h"
#include "config.h"
#include "envfile.h"
#include "log.h"

/* One line: 1 with KEY and VALUE, 0 for nothing, -1 for an error. */
static int
line(const char *s, const char *key, const char *value)
{
	char		*k = NULL, *v = NULL;
	const char	*why = NULL;
	int		 r;

	r = envfile_parse_line(s, &k, &v, &why);
	if (r == 1) {
		ck_assert_str_eq(k, key);
		ck_assert_str_eq(v, value);
		free(k);
		free(v);
	} else if (r == -1)
		ck_assert_ptr_nonnull(why);
	return r;
}

START_TEST(test_lines)
{
	ck_assert_int_eq(line("", NULL, NULL), 0);
	ck_assert_int_eq(line("   \t", NULL, NULL), 0);
	ck_assert_int_eq(line("# x=1", NULL, NULL), 0);
	ck_assert_int_eq(line("  ; x=1", NULL, NULL), 0);
	ck_assert_int_eq(line("A=1", "A", "1"), 1);
	ck_assert_int_eq(line("A=", "A", ""), 1);
	ck_assert_int_eq(line("  _a9 =  two words  ", "_a9", "two words"), 1);
	ck_assert_int_eq(line("export A=1", "A", "1"), 1);
	ck_assert_int_eq(line("export\tA = 1", "A", "1"), 1);
	/* A variable named export, and one that starts like it. */
	ck_assert_int_eq(line("export=1", "export", "1"), 1);
	ck_assert_int_eq(line("exports=1", "exports", "1"), 1);
	/* Bare: '#', '=', quotes inside and $ are kept as they are. */
	ck_assert_int_eq(line("A=x # y", "A", "x # y"), 1);
	ck_assert_int_eq(line("A=b=c", "A", "b=c"), 1);
	ck_assert_int_eq(line("A=it's $HOME", "A", "it's $HOME"), 1);
	ck_assert_int_eq(line("A='  x \\n \"y\" '", "A", "  x \\n \"y\" "), 1);
	ck_assert_int_eq(line("A=\"a \\\"b\\\" \\\\ \\$c \\` \\n\\t\"", "A",
	    "a \"b\" \\ $c ` \n\t"), 1);
	ck_assert_int_eq(line("A=\"x\"  # comment", "A", "x"), 1);
	ck_assert_int_eq(line("A=''", "A", ""), 1);
	ck_assert_int_eq(line("A=\"\"", "A", ""), 1);
}
END_TEST

START_TEST(test_bad_lines)
{
	static const char *const bad[] = {
		"A", "A B=1", "=1", "1A=1", "A-B=1", "export A", "A='x",
		"A=\"x", "A=\"x\\\"", "A=\"\\q\"", "A='x' y", "A=\"x\"y",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(line(bad[i], NULL, NULL) == -1, "%s", bad[i]);
}
END_TEST

/* A file in a scratch folder, with content. */
static char *
scratch(const char *content)
{
	char	 tmpl[] = "/tmp/check_envfile.XXXXXX";
	int	 fd;

	ck_assert_int_ne(fd = mkstemp(tmpl), -1);
	ck_assert_int_eq(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	close(fd);
	return strdup(tmpl);
}

/* Read content; the error, or "" and the vars as "K=V;...". */
static char *
read_env(const char *content, char **vars)
{
	struct config_env	*v;
	size_t			 n, i;
	char			*path, *error = NULL, *s, *t;

	path = scratch(content);
	s = strdup("");
	if (envfile_read(path, &v, &n, &error) == 0) {
		for (i = 0; i < n; i++) {
			ck_assert_int_gt(v[i].line, 0);
			ck_assert_int_ne(asprintf(&t, "%s%s=%s;", s, v[i].key,
			    v[i].value), -1);
			free(s);
			s = t;
		}
		envfile_clear(v, n);
		error = strdup("");
	} else {
		/* The error names the file and, for a line, its number. */
		ck_assert(strncmp(error, path, strlen(path)) == 0);
		t = strdup(error + strlen(path));
		free(error);
		error = t;
	}
	unlink(path);
	free(path);
	*vars = s;
	return error;
}

START_TEST(test_read)
{
	char	*vars, *error, *big, *content;

	error = read_env("\xef\xbb\xbf# x\r\nA=1\r\n\nexport B='2'\nC", &vars);
	ck_assert_str_eq(error, ":5: expected KEY=VALUE");
	free(error);
	free(vars);
	error = read_env("\xef\xbb\xbf# x\r\nA=1\r\n\nexport B='2'\n", &vars);
	ck_assert_str_eq(error, "");
	ck_assert_str_eq(vars, "A=1;B=2;");
	free(error);
	free(vars);
	/* No newline at the end, and a value far longer than inih reads. */
	big = malloc(10001);
	memset(big, 'v', 10000);
	big[10000] = '\0';
	ck_assert_int_ne(asprintf(&content, "L=%s", big), -1);
	error = read_env(content, &vars);
	ck_assert_str_eq(error, "");
	ck_assert_int_eq(strlen(vars), 10000 + 3);
	free(error);
	free(vars);
	free(content);
	free(big);

	error = read_env("A=1\nB=2\nA=3\n", &vars);
	ck_assert_str_eq(error, ":3: duplicate key 'A' (first at line 1)");
	free(error);
	free(vars);
	error = read_env("NOTIFY_SOCKET=/x\n", &vars);
	ck_assert_str_eq(error, ":1: may not set NOTIFY_SOCKET: baton sets "
	    "it for each worker");
	free(error);
	free(vars);
}
END_TEST

START_TEST(test_missing)
{
	struct config_env	*v;
	size_t			 n;
	char			*error = NULL;

	ck_assert_int_eq(envfile_read("/nonexistent/app.env", &v, &n, &error),
	    -1);
	ck_assert_str_eq(error, "/nonexistent/app.env: No such file or "
	    "directory");
	free(error);
}
END_TEST

START_TEST(test_assignment)
{
	ck_assert_ptr_null(envfile_assignment_why("A=1"));
	ck_assert_ptr_null(envfile_assignment_why("A="));
	ck_assert_ptr_null(envfile_assignment_why("A=x=y z"));
	ck_assert_ptr_nonnull(envfile_assignment_why("A"));
	ck_assert_ptr_nonnull(envfile_assignment_why("=1"));
	ck_assert_ptr_nonnull(envfile_assignment_why("A B=1"));
	ck_assert_ptr_nonnull(envfile_assignment_why("LISTEN_FDS=1"));
	ck_assert_ptr_nonnull(envfile_assignment_why("BATON_X=1"));
	ck_assert_ptr_nonnull(envfile_assignment_why("A=x\ny"));
}
END_TEST

/* The request line splits back into what it was built from. */
START_TEST(test_request)
{
	char *const	 in[] = { "A=1", "B=two words", "C='q' \"d\" \\ $x",
	    "D=", NULL };
	char		*req, **out, *error = NULL;
	size_t		 i;

	req = envfile_request(NULL);
	ck_assert_str_eq(req, "reload");
	free(req);
	req = envfile_request(in);
	ck_assert(strncmp(req, "reload ", 7) == 0);
	ck_assert_ptr_null(strchr(req, '\n'));
	out = envfile_request_parse(req + 7, &error);
	ck_assert_ptr_nonnull(out);
	for (i = 0; in[i] != NULL; i++)
		ck_assert_str_eq(out[i], in[i]);
	ck_assert_ptr_null(out[i]);
	command_free(out);
	free(req);

	ck_assert_ptr_null(envfile_request_parse("--env", &error));
	free(error);
	ck_assert_ptr_null(envfile_request_parse("A=1", &error));
	free(error);
	ck_assert_ptr_null(envfile_request_parse("--env A=1 --x B=1", &error));
	free(error);
	ck_assert_ptr_null(envfile_request_parse("--env 'A=1", &error));
	free(error);
	ck_assert_ptr_null(envfile_request_parse("--env BATON_FD=1", &error));
	ck_assert_str_eq(error, "--env 'BATON_FD': baton sets it for each "
	    "worker");
	free(error);
}
END_TEST

START_TEST(test_merge)
{
	char *const	 a[] = { "A=1", "B=2", NULL };
	char *const	 b[] = { "B=3", "C=4", "A=5", NULL };
	char		**p = NULL;

	envfile_merge(&p, a);
	envfile_merge(&p, b);
	ck_assert_str_eq(p[0], "A=5");
	ck_assert_str_eq(p[1], "B=3");
	ck_assert_str_eq(p[2], "C=4");
	ck_assert_ptr_null(p[3]);
	command_free(p);
}
END_TEST

/* Write content at path. */
static void
put(const char *path, const char *content)
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_ne(fputs(content, fp), EOF);
	fclose(fp);
}

/*
 * A configuration with [env], an env file and the command given, at the
 * same paths each time, as a reload reads them.
 */
static struct config *
load(const char *ini, const char *envfile)
{
	struct config	*c = config_new();
	char		 ipath[64], epath[64], *text, *error = NULL;

	snprintf(ipath, sizeof(ipath), "/tmp/check_envfile.%ld.ini",
	    (long)getpid());
	snprintf(epath, sizeof(epath), "/tmp/check_envfile.%ld.env",
	    (long)getpid());
	put(epath, envfile);
	ck_assert_int_ne(asprintf(&text, "[baton]\ncommand = true\n"
	    "env_file = %s\n%s", epath, ini), -1);
	put(ipath, text);
	if (config_load(c, ipath, &error) == -1 ||
	    config_finish(c, &error) == -1)
		ck_abort_msg("%s", error);
	unlink(ipath);
	unlink(epath);
	free(text);
	return c;
}

/* The vars a worker gets, as "K=V;...". */
static char *
vars_of(const struct config *c)
{
	char	**v, *s, *t;
	size_t	  i;

	v = envfile_vars(c);
	s = strdup("");
	for (i = 0; v[i] != NULL; i++) {
		ck_assert_int_ne(asprintf(&t, "%s%s;", s, v[i]), -1);
		free(s);
		s = t;
	}
	command_free(v);
	return s;
}

/* The vars a worker of c gets are want. */
static void
expect_vars(const struct config *c, const char *want)
{
	char	*s = vars_of(c);

	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(test_apply)
{
	char *const	 e1[] = { "B=env", "R=1", NULL };
	char *const	 e2[] = { "R=2", NULL };
	struct config	*c1, *c2, *c3, *c4;

	log_set_level(LOG_LEVEL_ERROR);
	c1 = load("[env]\nA = ini\nB = ini\n", "B=file\n");
	/* In order: a later one wins in the worker's environment. */
	expect_vars(c1, "A=ini;B=ini;B=file;");

	/* --env comes last, and is kept while the files give the same. */
	c2 = load("[env]\nA = ini\nB = ini\n", "# new comment\nB = file\n");
	envfile_apply(c1, c2, e1);
	expect_vars(c2, "A=ini;B=ini;B=file;B=env;R=1;");
	c3 = load("[env]\nA = ini\nB = ini\n", "B=file\n");
	envfile_apply(c2, c3, e2);
	expect_vars(c3, "A=ini;B=ini;B=file;B=env;R=2;");

	/* A change in env_file drops them. */
	c4 = load("[env]\nA = ini\nB = ini\n", "B=other\n");
	envfile_apply(c3, c4, NULL);
	expect_vars(c4, "A=ini;B=ini;B=other;");
	config_free(c4);
	/* So does one in baton.ini. */
	c4 = load("[env]\nA = ini2\nB = ini\n", "B=file\n");
	envfile_apply(c3, c4, NULL);
	ck_assert_uint_eq(c4->nreload_env, 0);
	config_free(c4);
	config_free(c1);
	config_free(c2);
	config_free(c3);
}
END_TEST

/* What baton check prints loads back, without reading env_file again. */
START_TEST(test_print)
{
	char *const	 e[] = { "R=1", NULL };
	struct config	*c, *back;
	char		*text = NULL, *again = NULL, *path, *error = NULL;
	size_t		 len;
	FILE		*fp;

	c = load("[env]\nA = ini\n", "B='from file'\n");
	envfile_apply(NULL, c, e);
	fp = open_memstream(&text, &len);
	config_print(c, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(text, "\n[env:file]\nB = from file\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n[env:reload]\nR = 1\n"));
	/* The env file is gone by now: [env:file] stands for it. */
	path = scratch(text);
	back = config_new();
	if (config_load(back, path, &error) == -1 ||
	    config_finish(back, &error) == -1)
		ck_abort_msg("%s", error);
	fp = open_memstream(&again, &len);
	config_print(back, fp);
	fclose(fp);
	ck_assert_str_eq(again, text);
	ck_assert(config_same_files(c, back));
	unlink(path);
	free(path);
	free(text);
	free(again);
	config_free(back);
	config_free(c);

	/* [env:file] without env_file says what it is for. */
	path = scratch("[baton]\ncommand = true\n[env:file]\nA = 1\n");
	back = config_new();
	ck_assert_int_eq(config_load(back, path, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, ":3: [env:file] holds what "
	    "env_file read"));
	free(error);
	config_free(back);
	unlink(path);
	free(path);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("envfile");
	const TTest	*file[] = {
		test_lines, test_bad_lines, test_read, test_missing, NULL
	};
	const TTest	*reload[] = {
		test_assignment, test_request, test_merge, test_apply,
		test_print, NULL
	};

	check_case(s, "file", file);
	check_case(s, "reload", reload);
	return check_run(s);
}
