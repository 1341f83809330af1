/* lpact-repl.c — the interactive minifloat lab: starts the engine and hands
 * over to the REPL (repl.c). On a terminal it is interactive; fed from a
 * pipe or a file it runs the input as a batch. `--lesson [NAME]` lists the
 * lessons or starts (resumes) one; a script named first runs before the
 * prompt, which then sees its globals. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine.h"

static const char usage[] =
  "usage: lpact-repl                   the interactive lab (help() inside lists what is there)\n"
  "       lpact-repl --lesson          list the lessons, with your progress\n"
  "       lpact-repl --lesson NAME     start or resume a lesson (NAME or a lesson file)\n"
  "       lpact-repl script.lua [args] run a script, then the prompt with its globals\n"
  "       lpact-repl < file.lua        a batch: values printed, no prompts\n"
  "       lpact-repl --version\n";

/* Calls require("lpact.lesson")[fn](name) with the error protocol of the
 * engine; leaves its nres results on the stack. Returns the exit status
 * of a failure (0 when it succeeded). */
static int call_lesson(lua_State *L, const char *fn, const char *name, int nres) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lpact.lesson");
  int status = lp_engine_call(L, 1, 1);
  if (status == LUA_OK) {
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    if (name != NULL) lua_pushstring(L, name);
    else lua_pushnil(L);
    status = lp_engine_call(L, 1, nres);
  }
  return lp_engine_report(L, status);
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    fputs(usage, stdout);
    return 0;
  }
  if (argc > 1 && argv[1][0] == '-' && strcmp(argv[1], "--version") != 0 &&
      strcmp(argv[1], "--lesson") != 0) {
    fprintf(stderr, "lpact-repl: unknown option '%s'\n%s", argv[1], usage);
    return 2;
  }
  if (argc > 3 && strcmp(argv[1], "--lesson") == 0) {
    fprintf(stderr, "lpact-repl: --lesson takes one lesson name\n%s", usage);
    return 2;
  }
  lua_State *L = lp_engine_new(argv[0]);
  if (L == NULL) return 1;
  int status;
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    lua_getglobal(L, "lpact");
    lua_getfield(L, -1, "version");
    printf("lpact-repl %s (%s)\n", lua_tostring(L, -1), LUA_RELEASE);
    lua_pop(L, 2);
    status = 0;
  } else if (argc == 2 && strcmp(argv[1], "--lesson") == 0) {
    status = call_lesson(L, "print_list", NULL, 0);
  } else if (argc == 3 && strcmp(argv[1], "--lesson") == 0) {
    /* the lesson is found before the session starts: a bad name is one
     * line and exit status 2, not a prompt */
    status = call_lesson(L, "find", argv[2], 1);
    if (status == 0) {
      lua_pop(L, 1);
      lua_getglobal(L, "require");
      lua_pushliteral(L, "lpact.lesson");
      lua_call(L, 1, 1);
      lua_getfield(L, -1, "start");
      lua_remove(L, -2);
      lua_pushstring(L, argv[2]);
      lp_repl_first(L, 2);
      status = lp_repl_run(L);
    }
  } else {
    if (argc > 1) {             /* a script first, with `arg` as lua.c sets it */
      lua_createtable(L, argc - 2, 2);
      for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
      }
      lua_setglobal(L, "arg");
      if (luaL_loadfilex(L, argv[1], "t") != LUA_OK) {
        fprintf(stderr, "lpact-repl: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
      }
      luaL_checkstack(L, argc, "too many arguments");
      for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
      lp_repl_first(L, argc - 1);
    }
    status = lp_repl_run(L);
  }
  lua_close(L);
  return status;
}
