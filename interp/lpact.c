/* lpact.c — the command-line program: runs a script, a -e chunk, a
 * subcommand (a Lua module cmd.<word> in the stdlib), or the REPL when
 * started with no arguments on a terminal. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine.h"

static const char usage[] =
  "usage: lpact [script.lua [args...]]   run a script ('-' reads stdin)\n"
  "       lpact -e 'lua code' [args...]  run code\n"
  "       lpact -i script.lua [args...]  run a script, then the prompt with its globals\n"
  "       lpact COMMAND [args...]        info, levels, round, bench, report, ...\n"
  "       lpact help                     list the commands\n"
  "       lpact --version\n";

/* Sets the global `arg` as lua.c does: arg[0] the script, arg[1..] its
 * arguments, arg[-1] the program. */
static void set_arg(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Pushes the script's arguments (argv[first..]) and returns how many
 * (none when first is past the end: `lpact` reading a pipe). */
static int push_args(lua_State *L, char **argv, int argc, int first) {
  if (first >= argc) return 0;
  luaL_checkstack(L, argc - first + 1, "too many arguments");
  for (int i = first; i < argc; i++) lua_pushstring(L, argv[i]);
  return argc - first;
}

static int is_path(const char *s) {
  struct stat st;
  size_t n = strlen(s);
  return strchr(s, '/') != NULL || stat(s, &st) == 0 ||
         (n > 4 && strcmp(s + n - 4, ".lua") == 0);
}

/* Runs the loaded chunk on top of the stack with its arguments. */
static int run_chunk(lua_State *L, int status, char **argv, int argc, int first) {
  if (status == LUA_OK) {
    int n = push_args(L, argv, argc, first);
    lp_engine_sigint_install(L);
    status = lp_engine_call(L, n, 0);
    lp_engine_sigint_restore();
  }
  return lp_engine_report(L, status);
}

/* Runs `require("cmd." .. word)(args)`; the module's function returns an
 * exit status (nil means 0). An unknown word is a usage error (2). */
static int run_command(lua_State *L, char **argv, int argc, int first) {
  lua_getglobal(L, "lpact");
  lua_getfield(L, -1, "command");
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    fprintf(stderr, "lpact: the stdlib has no command runner\n");
    return 1;
  }
  lua_newtable(L);
  for (int i = first; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - first);
  }
  lp_engine_sigint_install(L);
  int status = lp_engine_call(L, 1, 1);
  lp_engine_sigint_restore();
  if (status != LUA_OK) return lp_engine_report(L, status);
  int code = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return code;
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    fputs(usage, stdout);
    return 0;
  }
  lua_State *L = lp_engine_new(argv[0]);
  if (L == NULL) return 1;
  int code;
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    lua_getglobal(L, "lpact");
    lua_getfield(L, -1, "version");
    printf("lpact %s (%s)\n", lua_tostring(L, -1), LUA_RELEASE);
    lua_pop(L, 2);
    code = 0;
  } else if (argc == 1 && isatty(0)) {
    code = lp_repl_run(L);
  } else if (argc == 1 || strcmp(argv[1], "-") == 0) {
    set_arg(L, argv, argc, argc == 1 ? 0 : 1);
    code = run_chunk(L, luaL_loadfilex(L, NULL, "t"), argv, argc, 2);
  } else if (strcmp(argv[1], "-e") == 0) {
    if (argc < 3) {
      fprintf(stderr, "lpact: '-e' needs an argument\n%s", usage);
      code = 2;
    } else {
      set_arg(L, argv, argc, 2);
      code = run_chunk(L, luaL_loadbufferx(L, argv[2], strlen(argv[2]), "=(command line)", "t"),
                       argv, argc, 3);
    }
  } else if (strcmp(argv[1], "-i") == 0) {
    if (argc < 3) {
      fprintf(stderr, "lpact: '-i' needs a script\n%s", usage);
      code = 2;
    } else {                    /* as lua -i: the script, then the REPL */
      set_arg(L, argv, argc, 2);
      if (luaL_loadfilex(L, argv[2], "t") != LUA_OK) {
        fprintf(stderr, "lpact: %s\n", lua_tostring(L, -1));
        code = 1;
      } else {
        int n = push_args(L, argv, argc, 3);
        lp_repl_first(L, n + 1);
        code = lp_repl_run(L);
      }
    }
  } else if (argv[1][0] == '-') {
    fprintf(stderr, "lpact: unknown option '%s'\n%s", argv[1], usage);
    code = 2;
  } else if (is_path(argv[1])) {
    set_arg(L, argv, argc, 1);
    int st = luaL_loadfilex(L, argv[1], "t");
    if (st == LUA_ERRFILE) {
      fprintf(stderr, "lpact: %s\n", lua_tostring(L, -1));
      code = 1;
    } else {
      code = run_chunk(L, st, argv, argc, 2);
    }
  } else {
    code = run_command(L, argv, argc, 1);
  }
  fflush(stdout);
  lua_close(L);
  return code;
}
