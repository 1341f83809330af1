/* tap.h — a tiny TAP producer for the C tests of the numeric core. */
#ifndef LP_TAP_H
#define LP_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count = 0, tap_failed = 0;

/* One check: prints ok/not ok with a printf-style name. */
static int tap_ok(int pass, const char *fmt, ...) {
  va_list ap;
  tap_count++;
  printf("%s %d - ", pass ? "ok" : "not ok", tap_count);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  if (!pass) tap_failed++;
  return pass;
}

static void tap_diag(const char *fmt, ...) {
  va_list ap;
  printf("# ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

/* Prints the plan; returns the exit status for main. */
static int tap_done(void) {
  printf("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}

#endif
