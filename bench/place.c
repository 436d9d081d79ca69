/*
 * place.c - where the processes run: same, all on one CPU; split, parent
 * and child a CPU each, our daemons a third if there is one; none. The
 * net road: the parent in one network namespace, the child in another.
 */
#include <err.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void bench_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrx(2, fmt, ap);	/* "direct: " or "ipcfs-bench: ", the message */
}

void *bench_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		err(1, "calloc");
	return p;
}

/* the first `max` CPUs we may run on, a "0,1" list of all; their count */
static int allowed_cpus(int *cpus, int max, char *list, size_t len)
{
	size_t used = 0;
	cpu_set_t set;
	int n = 0;

	list[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (n < max)
			cpus[n] = c;
		n++;
		if (used < len)
			used += snprintf(list + used, len - used, "%s%d", n > 1 ? "," : "", c);
	}
	return n;
}

int bench_net_enter(const struct bench_net *net, enum bench_side side)
{
	return setns(net->ns[side], CLONE_NEWNET) < 0 ? -errno : 0;
}

/* --net: both namespaces opened, this process in the parent's */
static void place_net(struct bench_opts *o, struct bench_env *env)
{
	struct bench_net *net = &env->hosts;
	char path[160], *where = env->placement + strlen(env->placement);
	size_t room = sizeof(env->placement) - strlen(env->placement);

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", strchr(o->netns[i], '/') ? "" :
			 "/run/netns/", o->netns[i]);
		net->ns[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (net->ns[i] < 0)
			bench_usage_error("--net: %s: %s", path, strerror(errno));
		net->addr[i] = o->net_addr[i];
	}
	if (bench_net_enter(net, BENCH_PARENT) < 0)
		bench_usage_error("--net: entering %s: %s", o->netns[0], strerror(errno));
	snprintf(where, room, "; parent in netns %s (%s), child in %s (%s)", o->netns[0],
		 o->net_addr[0], o->netns[1], o->net_addr[1]);
	env->net = net;
}

void bench_place(struct bench_opts *o, struct bench_env *env)
{
	int cpus[3] = { 0 }, n;
	char list[64];

	n = allowed_cpus(cpus, 3, list, sizeof(list));
	env->ncpus = n;
	env->cpu_daemon = -1;
	if (o->cpus == BENCH_CPUS_SPLIT && n < 2) {
		if (o->cpus_set)
			bench_usage_error("--cpus: 'split' needs two CPUs, only %s "
					  "is allowed here (same, split, none)", list);
		o->cpus = BENCH_CPUS_SAME;	/* the default, on one CPU */
	}
	env->cpu_parent = env->cpu_child = -1;
	if (o->cpus == BENCH_CPUS_SAME) {
		env->cpu_parent = env->cpu_child = env->cpu_daemon = cpus[0];
		snprintf(env->placement, sizeof(env->placement),
			 "same (parent and child on CPU %d)", cpus[0]);
	} else if (o->cpus == BENCH_CPUS_SPLIT) {
		env->cpu_parent = cpus[0];
		env->cpu_child = cpus[1];
		env->cpu_daemon = n >= 3 ? cpus[2] : -1;
		snprintf(env->placement, sizeof(env->placement),
			 "split (parent on CPU %d, child on CPU %d)", cpus[0], cpus[1]);
	} else {
		snprintf(env->placement, sizeof(env->placement),
			 "none (unpinned; CPUs %s allowed)", list);
	}
	if (o->daemon_cpu != BENCH_DAEMON_CPU_AUTO)
		env->cpu_daemon = o->daemon_cpu;
	if (o->roads == BENCH_ROADS_NET)
		place_net(o, env);
}
