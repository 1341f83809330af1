/* act_core.c — the activation registry's table itself: one complete row
 * per LP_ACT_LIST entry, in order, and each float twin agreeing with its
 * double definition (both come from one body; this catches a body that
 * only compiles right for one type). */
#include <math.h>
#include <string.h>

#include "core/act.h"
#include "tap.h"

#define NAME_OF(ID, name) #name,
static const char *const list_names[] = { LP_ACT_LIST(NAME_OF) };
#undef NAME_OF

int main(void) {
  tap_ok(sizeof list_names / sizeof *list_names == LP_ACT_COUNT, "LP_ACT_COUNT = %d rows", LP_ACT_COUNT);
  for (int i = 0; i < LP_ACT_COUNT; i++) {
    const lp_act_info *r = lp_act_row((lp_act)i);
    tap_ok(strcmp(r->name, list_names[i]) == 0 && lp_act_from_name(r->name) == i,
           "row %d is %s, found by its name", i, list_names[i]);
    tap_ok(r->f && r->df && r->ff && r->dff && r->forward && r->backward && r->formula &&
           r->param && (r->has_alpha || r->alpha == 0) && (r->monotone || r->min_lo < r->min_hi),
           "%s: every field set", r->name);
    double worst = 0, dworst = 0;
    for (double x = -8.05; x < 8; x += 0.1) {
      float a = (float)r->alpha;
      double y = r->f(x, r->alpha), d = r->df(x, r->alpha);
      double yf = r->ff((float)x, a), df = r->dff((float)x, a);
      /* the float input differs from x by up to 2^-24 relative, so allow
       * for |f'| times that on top of float's own rounding */
      double slack = 4e-7 * (1 + fabs(x)) * (1 + fabs(d));
      worst = fmax(worst, fabs(yf - r->f((double)(float)x, r->alpha)) / (fabs(y) + 1) / slack);
      dworst = fmax(dworst, fabs(df - r->df((double)(float)x, r->alpha)) / (fabs(d) + 1) / slack);
    }
    tap_ok(worst <= 1 && dworst <= 1, "%s: float f and f' agree with double (%.2g, %.2g of the slack)",
           r->name, worst, dworst);
    tap_ok(isnan(r->f(NAN, r->alpha)) && isnan(r->df(NAN, r->alpha)) &&
           isnan(r->ff(NAN, (float)r->alpha)) && isnan(r->dff(NAN, (float)r->alpha)),
           "%s: NaN gives NaN in f and f', double and float", r->name);
  }
  tap_ok(lp_act_from_name("nope") == -1, "an unknown name gives -1");
  tap_diag("%d functions", LP_ACT_COUNT);
  return tap_done();
}
