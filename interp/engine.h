/* engine.h — the embedded Lua engine shared by `lpact` and `lpact-repl`.
 *
 * The programs are thin: they create an engine (a lua_State with the C
 * modules preloaded, package.path pointing at the stdlib and the `lpact`
 * module loaded as a global), then hand over to a script, a subcommand or
 * the REPL. */
#ifndef LP_ENGINE_H
#define LP_ENGINE_H

#include <lua.h>

/* Creates the engine; argv0 locates the stdlib. On failure prints one line
 * to stderr and returns NULL. */
lua_State *lp_engine_new(const char *argv0);

/* Calls the function below `narg` arguments with a traceback handler.
 * Returns the lua_pcall status; on error the message (with traceback for
 * ordinary errors) is left on the stack. */
int lp_engine_call(lua_State *L, int narg, int nres);

/* Prints the error on top of the stack (if status != LUA_OK) as
 * "lpact: message" and returns the exit status it asks for: the status of
 * an lpact.fail{} error (2 for bad usage), else 1. Pops the message. */
int lp_engine_report(lua_State *L, int status);

/* SIGINT handling. `soft` mode (set by the training loop through
 * lpact.c.engine.catch_interrupt) only raises a flag that Lua code polls;
 * otherwise a Ctrl-C interrupts the running Lua code with the error
 * "interrupted!" (as lua.c does), never touching the state from the
 * handler itself. */
void lp_engine_sigint_install(lua_State *L);
void lp_engine_sigint_restore(void);

/* The REPL (repl.c): runs until end of input; returns an exit status. */
int lp_repl_run(lua_State *L);

/* Pops a function and its n - 1 arguments (pushed in order) and keeps
 * them for lp_repl_run to call before its first prompt, after lpact.repl
 * is loaded: a lesson's start, or a script to run before the prompt. */
void lp_repl_first(lua_State *L, int n);

#endif
