/* bind/act.c — the activation registry (core/act.h) for Lua:
 * lpact.activations() lists every function with its properties, and
 * lp_check_act reads an activation name for the other binding files. */
#include "bind/bind.h"
#include "core/act.h"

lp_act lp_check_act(lua_State *L, int i) {
  const char *name = luaL_checkstring(L, i);
  int a = lp_act_from_name(name);
  if (a < 0) {   /* the user's mistake: one line naming the known ones */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int k = 0; k < LP_ACT_COUNT; k++) {
      if (k) luaL_addstring(&b, ", ");
      luaL_addstring(&b, lp_act_name((lp_act)k));
    }
    luaL_pushresult(&b);
    lp_fail(L, "unknown activation '%s' (known: %s)", name, lua_tostring(L, -1));
  }
  return (lp_act)a;
}

double lp_opt_alpha(lua_State *L, int i, lp_act a) {
  return luaL_optnumber(L, i, lp_act_default_alpha(a));
}

/* lpact.activations() -> a list, in the registry's order, of
 * {name=, formula=, monotone=, ops=, alpha= (default, only for functions
 * that take a parameter), param= (what alpha is)} */
static int l_activations(lua_State *L) {
  lua_createtable(L, LP_ACT_COUNT, 0);
  for (int i = 0; i < LP_ACT_COUNT; i++) {
    const lp_act_info *r = lp_act_row((lp_act)i);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, r->name), lua_setfield(L, -2, "name");
    lua_pushstring(L, r->formula), lua_setfield(L, -2, "formula");
    lua_pushboolean(L, r->monotone), lua_setfield(L, -2, "monotone");
    lua_pushboolean(L, r->ops != NULL), lua_setfield(L, -2, "ops");
    if (r->has_alpha) {
      lua_pushnumber(L, r->alpha), lua_setfield(L, -2, "alpha");
      lua_pushstring(L, r->param), lua_setfield(L, -2, "param");
    }
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static const luaL_Reg funcs[] = {
  { "activations", l_activations },
  { NULL, NULL },
};

int luaopen_lpact_act(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
