/* clock.c — lpact.wallclock(): a monotonic wall clock in seconds, for the
 * training loop's examples/s, ETA and seconds per epoch (os.clock counts
 * CPU time of every thread, os.time whole seconds). */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L  /* clock_gettime */
#endif
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

/* wallclock() -> seconds (a float) since an arbitrary fixed point. */
static int l_wallclock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

int luaopen_lpact_clock(lua_State *L) {
  static const luaL_Reg fns[] = {{"wallclock", l_wallclock}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
