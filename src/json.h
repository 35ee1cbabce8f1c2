/*
 * JSON text for status: every string baton prints as JSON goes through
 * here, so that what a worker or a configuration file put in it (any
 * bytes at all) comes out as valid JSON in valid UTF-8.
 */
#ifndef BATON_JSON_H
#define BATON_JSON_H

struct evbuffer;

/*
 * Append s as a JSON string, or null when s is NULL. Quotes, backslashes
 * and control characters are escaped; bytes that are not UTF-8 (a stray
 * continuation byte, an overlong form, a surrogate, a code point above
 * U+10FFFF, a sequence cut short) become U+FFFD, one for each maximal
 * ill-formed part, as Unicode recommends.
 */
void	json_string(struct evbuffer *, const char *s);

#endif
