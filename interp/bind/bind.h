/* bind.h — helpers shared by the binding files (one userdata type per
 * file). Each helper checks its argument lauxlib-style and raises on
 * error; none leaves C memory live across an error. */
#ifndef LP_BIND_H
#define LP_BIND_H

#include <lauxlib.h>
#include <lua.h>

#include "core/act.h"
#include "core/format.h"
#include "core/tensor.h"

#define LP_FORMAT_MT "lpact.Format"
#define LP_TENSOR_MT "lpact.Tensor"

/* bind/fail.c: raises the usage-error object of lpact.fail ({msg =
 * <formatted>, exit = 2}: one line, exit status 2 at top level) for a
 * user's mistake; lua_pushfstring's formats. Never returns. Bugs (a wrong
 * type from a script) stay luaL_argerror / luaL_error, with a traceback. */
int lp_fail(lua_State *L, const char *fmt, ...);

/* bind/format.c: argument i as a format: a Format userdata, or a spec
 * string (parsed; a bad spec raises "bad argument #i to 'f' (…)"). The
 * returned pointer is valid while the value stays on the stack. */
const lp_format *lp_check_format(lua_State *L, int i);
/* Pushes a new Format userdata holding a copy of *f. */
void lp_push_format(lua_State *L, const lp_format *f);

/* bind/tensor.c: argument i as a Tensor userdata. */
lp_tensor *lp_check_tensor(lua_State *L, int i);
/* Pushes a new contiguous Tensor of this shape (contents zeroed if zero);
 * raises "not enough memory" on failure. */
lp_tensor *lp_push_tensor(lua_State *L, int ndim, const int64_t *shape, int zero);
/* Pushes a new contiguous tensor with t's shape. */
lp_tensor *lp_push_tensor_like(lua_State *L, const lp_tensor *t, int zero);
/* Argument i as a contiguous tensor: raises if it is a non-contiguous view
 * ("bad argument #i to 'f' (contiguous tensor expected)"). */
lp_tensor *lp_check_contiguous(lua_State *L, int i);

/* bind/act.c: argument i as an activation name ("unknown activation 'x'"
 * otherwise); the parameter at i (absent or nil: the function's default). */
lp_act lp_check_act(lua_State *L, int i);
double lp_opt_alpha(lua_State *L, int i, lp_act a);

#endif
