/* bind/jsonmark.c — one lexical pass over JSON text that lets lua-cjson
 * read it with lpact's conventions (stdlib/lpact/json.lua).
 *
 *   lpact.json_mark(s) -> text, or nil
 *
 * Debian's lua-cjson (2.1.0) reads every number as a double, so 5 and 5.0
 * come back alike, and it accepts a few spellings JSON forbids. This pass
 * walks the text once, knowing strings from the rest, and returns a copy
 * in which every number with a point or an exponent is a string marked
 * with a leading byte 1 ("\u0001"-free text: json.lua reads it back with
 * tonumber, as its own decoder does). It returns nil — the Lua decoder
 * then decides, with its own messages — for any text cjson would read
 * differently from lpact.json's decoder: a number not spelled as JSON
 * has it (01, +1, 1., .5, 1e), an integer of more than 15 digits (beyond
 * what a double holds exactly), an empty object (cjson makes {} and []
 * alike), a control character in a string or outside whitespace, and an
 * escaped \u0001 (the mark). Raises nothing but memory errors; holds no C
 * memory (the copy is a luaL_Buffer). */
#include <string.h>

#include "bind/bind.h"

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The length of the JSON number at s[i..n), or 0 if it is not spelled as
 * JSON has it; *is_float is set when it has a point or an exponent, and
 * *digits counts the integer part's digits. */
static size_t number_len(const char *s, size_t i, size_t n, int *is_float, size_t *digits) {
  size_t j = i;
  *is_float = 0;
  if (j < n && s[j] == '-') j++;
  size_t d0 = j;
  if (j < n && s[j] == '0') j++;
  else while (j < n && is_digit((unsigned char)s[j])) j++;
  *digits = j - d0;
  if (*digits == 0) return 0;
  if (j < n && s[j] == '.') {
    size_t f0 = ++j;
    while (j < n && is_digit((unsigned char)s[j])) j++;
    if (j == f0) return 0;
    *is_float = 1;
  }
  if (j < n && (s[j] == 'e' || s[j] == 'E')) {
    j++;
    if (j < n && (s[j] == '+' || s[j] == '-')) j++;
    size_t e0 = j;
    while (j < n && is_digit((unsigned char)s[j])) j++;
    if (j == e0) return 0;
    *is_float = 1;
  }
  /* a number runs into a letter, digit or point: "01", "1.2.3", "1x" */
  if (j < n && (is_digit((unsigned char)s[j]) || s[j] == '.' || s[j] == '_' ||
                (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
    return 0;
  return j - i;
}

static int l_json_mark(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  luaL_buffinitsize(L, &b, n + n / 8 + 16);
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') {                       /* a string: copied as it is */
      size_t j = i + 1;
      for (;;) {
        if (j >= n) goto refuse;
        unsigned char d = (unsigned char)s[j];
        if (d < 0x20 || d == 0x7f) goto refuse;
        if (d == '\\') {
          if (j + 1 >= n) goto refuse;
          if (s[j + 1] == 'u' && j + 6 <= n && memcmp(s + j + 2, "0001", 4) == 0) goto refuse;
          j += 2;
          continue;
        }
        j++;
        if (d == '"') break;
      }
      luaL_addlstring(&b, s + i, j - i);
      i = j;
    } else if (c == '-' || is_digit(c)) {
      int is_float;
      size_t digits;
      size_t len = number_len(s, i, n, &is_float, &digits);
      if (len == 0) goto refuse;
      if (is_float) {
        luaL_addstring(&b, "\"\x01");
        luaL_addlstring(&b, s + i, len);
        luaL_addchar(&b, '"');
      } else {
        if (digits > 15) goto refuse;
        luaL_addlstring(&b, s + i, len);
      }
      i += len;
    } else if (c == '{') {
      size_t j = i + 1;
      while (j < n && is_space((unsigned char)s[j])) j++;
      if (j < n && s[j] == '}') goto refuse;
      luaL_addchar(&b, '{');
      i++;
    } else if (c < 0x20 && !is_space(c)) {
      goto refuse;
    } else if (c == '+' || c == 0x7f) {
      goto refuse;
    } else {
      luaL_addchar(&b, (char)c);
      i++;
    }
  }
  luaL_pushresult(&b);
  return 1;
refuse:
  luaL_pushresult(&b);                  /* closes the buffer (it may be a box) */
  lua_pop(L, 1);
  luaL_pushfail(L);
  return 1;
}

int luaopen_lpact_jsonmark(lua_State *L) {
  static const luaL_Reg fns[] = {{"json_mark", l_json_mark}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
