/* bench.c - bench/direct: parse, run every row, report. Exit status: 0 all
 * ran, 1 a row failed, the bench was stopped or a mount failed, 2 usage */
#include <err.h>
#include <errno.h>
#include <string.h>

#include "bench.h"

int main(int argc, char **argv)
{
	struct bench_env env;
	struct bench_opts o;
	FILE *cdf = NULL;
	char err[512];
	bool fatal;
	int nfailed;

	if (bench_parse_opts(&o, argc, argv, err, sizeof(err))) {
		warnx("%s", err);
		return 2;
	}
	if (o.help) {
		bench_usage(stdout);
		return 0;
	}
	if (o.cdf) {
		cdf = fopen(o.cdf, "we");
		if (!cdf)
			bench_usage_error("--cdf: %s: %s", o.cdf, strerror(errno));
		bench_report_cdf_begin(cdf);
	}
	bench_env_init(&env);
	bench_place(&o, &env);
	if (o.spin && o.cpus == BENCH_CPUS_SAME)
		warnx("note: --spin with --cpus same: the spinning side holds "
		      "the only CPU until preempted");
	bench_run_init();
	bench_mounts_up(&o, &env);
	bench_place_daemons(&o, &env);

	nfailed = bench_rows(&o, &env, cdf, &fatal);

	bench_mounts_down();
	if (cdf && fclose(cdf) != 0)
		warn("--cdf %s", o.cdf);
	if (bench_interrupted()) {
		if (!fatal)
			warnx("interrupted");
		return 130;
	}
	if (nfailed && !fatal)
		warnx("%d row%s failed", nfailed, nfailed == 1 ? "" : "s");
	return nfailed ? 1 : 0;
}
