/* repl.c — the interactive loop (placeholder until the readline REPL lands):
 * reads lines from stdin and runs each as a chunk. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine.h"

int lp_repl_run(lua_State *L) {
  char line[4096];
  while (fgets(line, sizeof line, stdin) != NULL) {
    int status = luaL_loadstring(L, line);
    if (status == LUA_OK) status = lp_engine_call(L, 0, 0);
    if (status != LUA_OK) lp_engine_report(L, status);
  }
  return 0;
}
