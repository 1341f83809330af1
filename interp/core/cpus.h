/* cpus.h — how many CPUs this process may use. */
#ifndef LP_CPUS_H
#define LP_CPUS_H

/* The CPUs allotted to this process: SLURM_CPUS_PER_TASK when set to a
 * positive number, else the size of the affinity mask (taskset, cgroup
 * cpusets, a Slurm step), else the online CPUs; at least 1. */
int lp_alloc_cpus(void);

#endif
