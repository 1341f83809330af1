/* lpact-repl.c — the interactive minifloat lab: starts the engine and hands
 * over to the REPL. */
#include <stdio.h>
#include <lua.h>
#include "engine.h"

int main(int argc, char **argv) {
  (void)argc;
  lua_State *L = lp_engine_new(argv[0]);
  if (L == NULL) return 1;
  int status = lp_repl_run(L);
  lua_close(L);
  return status;
}
