/* lpact-repl.c — the interactive minifloat lab: starts the engine and hands
 * over to the REPL (repl.c). On a terminal it is interactive; fed from a
 * pipe or a file it runs the input as a batch. */
#include <stdio.h>
#include <string.h>

#include <lua.h>

#include "engine.h"

static const char usage[] =
  "usage: lpact-repl              the interactive lab (help() inside lists what is there)\n"
  "       lpact-repl < file.lua   the same, as a batch: values printed, no prompts\n"
  "       lpact-repl --version\n";

int main(int argc, char **argv) {
  if (argc > 1) {
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    }
    if (strcmp(argv[1], "--version") != 0) {
      fprintf(stderr, "lpact-repl: unknown argument '%s' (to run a script: lpact %s)\n%s",
              argv[1], argv[1], usage);
      return 2;
    }
  }
  lua_State *L = lp_engine_new(argv[0]);
  if (L == NULL) return 1;
  int status;
  if (argc > 1) {               /* --version */
    lua_getglobal(L, "lpact");
    lua_getfield(L, -1, "version");
    printf("lpact-repl %s (%s)\n", lua_tostring(L, -1), LUA_RELEASE);
    lua_pop(L, 2);
    status = 0;
  } else {
    status = lp_repl_run(L);
  }
  lua_close(L);
  return status;
}
