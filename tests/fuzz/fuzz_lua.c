/* fuzz_lua.c — libFuzzer harness for the readers written in Lua (CSV,
 * JSON, checkpoints, the round command's line parser). Built once per
 * target with -DLP_FUZZ_TARGET='"csv"' (…); the engine is created once,
 * then every input goes to targets.lua's function of that name. A target
 * returns nil, or "FUZZ BUG: …" when an assertion fails: the harness then
 * prints it and aborts, so libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine.h"

#ifndef LP_FUZZ_TARGET
#error "define LP_FUZZ_TARGET, e.g. -DLP_FUZZ_TARGET='\"csv\"'"
#endif
#ifndef LP_FUZZ_TARGETS
#define LP_FUZZ_TARGETS "tests/fuzz/targets.lua"
#endif
#ifndef LP_FUZZ_STDLIB
#define LP_FUZZ_STDLIB "stdlib"
#endif

static lua_State *L;
static int fn_ref = LUA_NOREF;

/* Coverage of the Lua code: the system's liblua is not instrumented, so
 * libFuzzer would see only this file's few edges and could not tell one
 * input from another. A line hook feeds it instead: each (chunk, line)
 * executed bumps a counter in libFuzzer's extra-counters section, so
 * inputs that reach new lines of the stdlib are kept in the corpus. */
#define LUA_COV_SIZE (1 << 16)
__attribute__((used, section("__libfuzzer_extra_counters"))) static unsigned char lua_cov[LUA_COV_SIZE];
static uint64_t prev_line;

static void line_hook(lua_State *S, lua_Debug *ar) {
  if (!lua_getinfo(S, "S", ar)) return;
  /* the chunk is named by a hash of its source name's text (not of the
   * string's address, which moves from run to run), so that a run with a
   * fixed seed and run count repeats; the source string is interned, so
   * the last one's hash is kept */
  static const char *last_src;
  static uint64_t last_hash;
  if (ar->source != last_src) {
    uint64_t f = UINT64_C(0xcbf29ce484222325);
    for (const char *c = ar->source; *c; c++) f = (f ^ (unsigned char)*c) * UINT64_C(0x100000001b3);
    last_src = ar->source;
    last_hash = f;
  }
  uint64_t h = last_hash * UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)ar->currentline;
  h ^= h >> 29;
  /* the edge (previous line -> this line), as an edge counter does */
  uint64_t e = (h ^ (prev_line >> 1)) * UINT64_C(0xBF58476D1CE4E5B9);
  prev_line = h;
  unsigned char *c = &lua_cov[(e >> 40) & (LUA_COV_SIZE - 1)];
  if (*c < 255) (*c)++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  setenv("LPACT_PATH", LP_FUZZ_STDLIB, 0);   /* the harness does not live next to stdlib/ */
  L = lp_engine_new((*argv)[0]);
  if (!L) abort();
  if (luaL_loadfile(L, LP_FUZZ_TARGETS) != LUA_OK || lp_engine_call(L, 0, 1) != LUA_OK) {
    fprintf(stderr, "fuzz_lua: cannot load %s: %s\n", LP_FUZZ_TARGETS, lua_tostring(L, -1));
    abort();
  }
  lua_getfield(L, -1, LP_FUZZ_TARGET);
  if (!lua_isfunction(L, -1)) {
    fprintf(stderr, "fuzz_lua: no target '%s' in %s\n", LP_FUZZ_TARGET, LP_FUZZ_TARGETS);
    abort();
  }
  fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lp_engine_call(L, 1, 1) != LUA_OK) {
    fprintf(stderr, "fuzz_lua(%s): the target raised: %s\n", LP_FUZZ_TARGET, lua_tostring(L, -1));
    abort();
  }
  if (lua_type(L, -1) == LUA_TSTRING) {
    fprintf(stderr, "fuzz_lua(%s): %s\n", LP_FUZZ_TARGET, lua_tostring(L, -1));
    abort();
  }
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT);   /* tensors and strings of this input go now: memory stays flat */
  return 0;
}
