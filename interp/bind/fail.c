/* bind/fail.c — the one error convention across the C/Lua boundary.
 *
 * A user's mistake (a bad format spec, an unknown activation, an option
 * value) raises a failure object {msg = "one line", exit = 2}: the
 * programs print "lpact: <msg>" with no traceback and exit with `exit`.
 * A bug raises a plain error, which gets a traceback. lpact.fail (Lua) and
 * lp_fail (every binding) raise the same object, so a caller tells them
 * apart with lpact.is_failure and never by the text of a message. */
#include <stdarg.h>

#include "bind/bind.h"

#define FAILURE_MT "lpact.Failure"

static int f_tostring(lua_State *L) {
  lua_getfield(L, 1, "msg");
  return 1;
}

/* Raises the failure object for the message on the top of the stack. */
static int raise_failure(lua_State *L, int status) {
  lua_createtable(L, 0, 2);
  lua_insert(L, -2);
  lua_setfield(L, -2, "msg");
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "exit");
  if (luaL_newmetatable(L, FAILURE_MT)) {
    lua_pushcfunction(L, f_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_setmetatable(L, -2);
  return lua_error(L);
}

int lp_fail(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return raise_failure(L, 2);
}

/* lpact.fail(msg [, status]): raises the failure object (status default
 * 2: bad usage; use 1 for a failure that is not the user's typing, such as
 * a missing file). */
static int l_fail(lua_State *L) {
  lua_Integer status = luaL_optinteger(L, 2, 2);
  luaL_tolstring(L, 1, NULL);
  return raise_failure(L, (int)status);
}

/* lpact.is_failure(e) -> true when e was raised by lpact.fail or lp_fail. */
static int l_is_failure(lua_State *L) {
  int yes = 0;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_getfield(L, 1, "exit");
    yes = lua_isinteger(L, -1);
  }
  lua_pushboolean(L, yes);
  return 1;
}

static const luaL_Reg funcs[] = {
  { "fail", l_fail },
  { "is_failure", l_is_failure },
  { NULL, NULL },
};

int luaopen_lpact_fail(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
