/* cpus.c — the CPU count a job was given, not the machine's: a `-c 2` job
 * on a 64-core node must start 2 threads, not 64. */
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/cpus.h"

int lp_alloc_cpus(void) {
  const char *env = getenv("SLURM_CPUS_PER_TASK");
  if (env != NULL && *env) {
    char *end;
    long n = strtol(env, &end, 10);
    if (*end == '\0' && n > 0 && n < 1 << 20) return (int)n;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? (int)cores : 1;
}
