/* JSON strings: valid UTF-8 passes, anything else becomes U+FFFD. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "check_run.h"
#include "json.h"

#define FFFD	"\xef\xbf\xbd"

/* The JSON text of s, without its quotes; the caller frees it. */
static char *
json(const char *s)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;
	char		*out;

	ck_assert_ptr_nonnull(b);
	json_string(b, s);
	len = evbuffer_get_length(b);
	ck_assert_uint_ge(len, 2);
	out = malloc(len + 1);
	ck_assert_ptr_nonnull(out);
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	ck_assert_int_eq(out[0], '"');
	ck_assert_int_eq(out[len - 1], '"');
	memmove(out, out + 1, len - 2);
	out[len - 2] = '\0';
	return out;
}

#define JSON_IS(in, want) do {						\
	char	*got_ = json(in);					\
	ck_assert_str_eq(got_, want);					\
	free(got_);							\
} while (0)

START_TEST(test_null)
{
	struct evbuffer	*b = evbuffer_new();
	char		 buf[8];

	json_string(b, NULL);
	ck_assert_uint_eq(evbuffer_get_length(b), 4);
	evbuffer_remove(b, buf, 4);
	ck_assert_mem_eq(buf, "null", 4);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_ascii_and_escapes)
{
	JSON_IS("", "");
	JSON_IS("serving 12", "serving 12");
	JSON_IS("a\"b\\c", "a\\\"b\\\\c");
	JSON_IS("tab\there\nnl\rcr", "tab\\u0009here\\u000anl\\u000dcr");
	JSON_IS("\x01\x1f\x7f ~", "\\u0001\\u001f\\u007f ~");
	JSON_IS("/", "/");
}
END_TEST

START_TEST(test_valid_multibyte)
{
	JSON_IS("caf\xc3\xa9", "caf\xc3\xa9");			/* U+00E9 */
	JSON_IS("\xc2\x80", "\xc2\x80");			/* U+0080 */
	JSON_IS("\xdf\xbf", "\xdf\xbf");			/* U+07FF */
	JSON_IS("\xe0\xa0\x80", "\xe0\xa0\x80");		/* U+0800 */
	JSON_IS("\xe2\x82\xac", "\xe2\x82\xac");		/* U+20AC */
	JSON_IS("\xed\x9f\xbf", "\xed\x9f\xbf");		/* U+D7FF */
	JSON_IS("\xee\x80\x80", "\xee\x80\x80");		/* U+E000 */
	JSON_IS("\xef\xbf\xbd", "\xef\xbf\xbd");		/* U+FFFD */
	JSON_IS("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");	/* U+10000 */
	JSON_IS("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");	/* U+1F600 */
	JSON_IS("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	JSON_IS("\xe2\x80\xa8", "\xe2\x80\xa8");		/* U+2028 */
}
END_TEST

START_TEST(test_stray_bytes)
{
	JSON_IS("a\xff" "b", "a" FFFD "b");
	JSON_IS("\xff\xfe", FFFD FFFD);
	JSON_IS("\x80", FFFD);			/* a lone continuation */
	JSON_IS("\xbf\x80", FFFD FFFD);
	JSON_IS("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);	/* F5: never */
}
END_TEST

START_TEST(test_overlong)
{
	JSON_IS("\xc0\xaf", FFFD FFFD);		/* '/' in two bytes */
	JSON_IS("\xc1\xbf", FFFD FFFD);
	JSON_IS("\xc0\x80", FFFD FFFD);		/* NUL in two bytes */
	JSON_IS("\xe0\x80\xaf", FFFD FFFD FFFD);
	JSON_IS("\xe0\x9f\xbf", FFFD FFFD FFFD);
	JSON_IS("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD);
	JSON_IS("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD);
}
END_TEST

START_TEST(test_surrogates)
{
	JSON_IS("\xed\xa0\x80", FFFD FFFD FFFD);		/* U+D800 */
	JSON_IS("\xed\xbf\xbf", FFFD FFFD FFFD);		/* U+DFFF */
	/* A CESU-8 pair: six bytes, six replacements. */
	JSON_IS("\xed\xa0\xbd\xed\xb8\x80", FFFD FFFD FFFD FFFD FFFD FFFD);
}
END_TEST

START_TEST(test_above_max)
{
	JSON_IS("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);	/* U+110000 */
	JSON_IS("\xf7\xbf\xbf\xbf", FFFD FFFD FFFD FFFD);
	JSON_IS("\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD);
}
END_TEST

START_TEST(test_truncated)
{
	/* A sequence cut short is one U+FFFD, and what follows is kept. */
	JSON_IS("\xc3", FFFD);
	JSON_IS("\xc3" "a", FFFD "a");
	JSON_IS("\xe2\x82", FFFD);
	JSON_IS("\xe2\x82" "\"", FFFD "\\\"");
	JSON_IS("\xf0\x9f\x98", FFFD);
	JSON_IS("\xf0\x9f\x98" "\xc3\xa9", FFFD "\xc3\xa9");
	JSON_IS("x\xf0\x9f", "x" FFFD);
	JSON_IS("\xe2\n", FFFD "\\u000a");
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_null, test_ascii_and_escapes, test_valid_multibyte,
		test_stray_bytes, test_overlong, test_surrogates,
		test_above_max, test_truncated, NULL
	};

	return check_main("json", NULL, NULL, tests);
}
