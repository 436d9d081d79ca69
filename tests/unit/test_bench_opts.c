/*
 * test_bench_opts.c - the command line of bench/direct (bench/opts.c):
 * defaults, every option in its long, "=value" and short forms, size
 * suffixes, and bad input, whose one-line message must name the option
 * and list the values it takes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench.h"

static struct bench_opts o;
static char err[512];

/* parse a NULL-terminated list of arguments; the message or NULL */
static const char *parse(const char *first, ...)
{
	char *argv[32] = { "direct" };
	int argc = 1;
	const char *a;
	va_list ap;

	va_start(ap, first);
	for (a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return bench_parse_opts(&o, argc, argv, err, sizeof(err));
}

#define PARSE_OK(...) do {						\
	const char *e_ = parse(__VA_ARGS__, NULL);			\
	if (e_)								\
		fail_msg("unexpected error: %s", e_);			\
} while (0)

/* the error must start with "--option:" and contain every `want` */
static void bad(const char *prefix, const char *const *want,
		const char *e)
{
	if (!e)
		fail_msg("accepted, but %s should have refused it", prefix);
	assert_ptr_equal(e, err);
	if (strncmp(e, prefix, strlen(prefix)) != 0)
		fail_msg("'%s' does not start with '%s'", e, prefix);
	for (; want && *want; want++)
		if (!strstr(e, *want))
			fail_msg("'%s' does not mention '%s'", e, *want);
	assert_null(strchr(e, '\n'));	/* one line */
}

#define BAD(prefix, want, ...) bad(prefix, want, parse(__VA_ARGS__, NULL))

/* "all" is every transport that is IPC: not the mount's control row */
static int ntransports(void)
{
	const struct ipc_transport *const *t;
	int n = 0;

	for (t = ipc_transports; *t; t++)
		n += !((*t)->caps & IPC_LOCAL);
	return n;
}

static void test_defaults(void **state)
{
	(void)state;
	assert_null(parse(NULL));
	assert_int_equal(o.ntransports, ntransports());
	assert_true(o.all);
	assert_int_equal(o.nsizes, 2);
	assert_int_equal(o.sizes[0], 100);
	assert_int_equal(o.sizes[1], 1024);
	assert_int_equal(o.count, 0);
	assert_true(o.duration == BENCH_DEFAULT_DURATION);
	assert_int_equal(o.warmup, BENCH_DEFAULT_WARMUP);
	assert_false(o.warmup_set);
	assert_int_equal(o.cpus, BENCH_CPUS_SPLIT);
	assert_false(o.cpus_set);
	assert_int_equal(o.mode, BENCH_PINGPONG);
	assert_int_equal(o.format, BENCH_TABLE);
	assert_string_equal(o.zmq_kind, "tcp");
	assert_false(o.spin);
	assert_false(o.baseline);
	assert_false(o.help);
}

static void test_transport(void **state)
{
	(void)state;
	PARSE_OK("--transport", "pipe");
	assert_int_equal(o.ntransports, 1);
	assert_string_equal(o.transports[0]->name, "pipe");
	assert_false(o.all);

	PARSE_OK("--transport=unix,pipe");
	assert_int_equal(o.ntransports, 2);
	assert_string_equal(o.transports[0]->name, "unix");
	assert_string_equal(o.transports[1]->name, "pipe");

	PARSE_OK("-t", "pipe,pipe,tcp");	/* duplicates run once */
	assert_int_equal(o.ntransports, 2);

	PARSE_OK("-ttcp");
	assert_string_equal(o.transports[0]->name, "tcp");

	PARSE_OK("--transport", "all");
	assert_int_equal(o.ntransports, ntransports());
	assert_true(o.all);

	PARSE_OK("--transport", "pipe", "--transport", "fifo"); /* last wins */
	assert_int_equal(o.ntransports, 1);
	assert_string_equal(o.transports[0]->name, "fifo");
}

static void test_transport_bad(void **state)
{
	static const char *const want[] = { "'pip'", "pipe", "unix", "all",
					    NULL };

	(void)state;
	BAD("--transport:", want, "--transport", "pip");
	BAD("--transport:", NULL, "--transport", "pipe,,unix");
	BAD("--transport:", NULL, "-t", "PIPE");
	BAD("--transport:", NULL, "--transport", "");
	BAD("--transport:", NULL, "--transport");	/* no value */
}

static void test_size(void **state)
{
	(void)state;
	PARSE_OK("--size", "1,100,1K,64k,1M,2m,1536");
	assert_int_equal(o.nsizes, 7);
	assert_int_equal(o.sizes[0], 1);
	assert_int_equal(o.sizes[1], 100);
	assert_int_equal(o.sizes[2], 1024);
	assert_int_equal(o.sizes[3], 65536);
	assert_int_equal(o.sizes[4], 1048576);
	assert_int_equal(o.sizes[5], 2097152);
	assert_int_equal(o.sizes[6], 1536);

	PARSE_OK("-s", "256M");
	assert_int_equal(o.sizes[0], BENCH_SIZE_MAX);
	PARSE_OK("--size=4");
	assert_int_equal(o.nsizes, 1);
	assert_int_equal(o.sizes[0], 4);
}

static void test_size_bad(void **state)
{
	static const char *const want[] = { "'0'", "K=1024", "M=1048576",
					    NULL };
	static const char *const big[] = { "'257M'", "256M", NULL };
	static const char *const bads[] = {
		"abc", "", "K", "1KB", "1G", "1.5K", "-1", "+1", " 1", "1 ",
		"0x10", "100,", ",100", "1K,,2K", "0K",
	};
	size_t i;

	(void)state;
	BAD("--size:", want, "--size", "0");
	BAD("--size:", big, "--size", "257M");
	BAD("--size:", NULL, "--size", "99999999999999999999999");
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		BAD("--size:", NULL, "--size", bads[i]);
	BAD("--size:", NULL, "--size",	/* 33 sizes */
	    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,"
	    "23,24,25,26,27,28,29,30,31,32,33");
}

/* sweep: 16 to 1M by 4, oversize rows to be skipped; with more sizes */
static void test_size_sweep(void **state)
{
	static const size_t sweep[] = { 16, 64, 256, 1024, 4096, 16384, 65536,
					262144, 1048576 };
	int i;

	(void)state;
	PARSE_OK("--size", "sweep");
	assert_int_equal(o.nsizes, 9);
	for (i = 0; i < 9; i++)
		assert_int_equal(o.sizes[i], sweep[i]);
	assert_true(o.sweep);
	PARSE_OK("-s", "100,sweep", "--mode", "stream");
	assert_int_equal(o.nsizes, 10);
	assert_int_equal(o.sizes[0], 100);
	assert_int_equal(o.sizes[9], 1048576);
	assert_true(o.sweep);
	PARSE_OK("-s", "sweep", "-s", "1K");	/* the last --size wins */
	assert_int_equal(o.nsizes, 1);
	assert_false(o.sweep);
	PARSE_OK("-t", "pipe");
	assert_false(o.sweep);
	BAD("--size:", NULL, "--size", "Sweep");
	BAD("--size:", NULL, "--size",	/* 24 + 9 sizes */
	    "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,sweep");
}

static void test_parse_size(void **state)
{
	size_t s = 7;

	(void)state;
	assert_int_equal(bench_parse_size("1K", &s), 0);
	assert_int_equal(s, 1024);
	assert_int_equal(bench_parse_size("3m", &s), 0);
	assert_int_equal(s, 3u << 20);
	assert_int_equal(bench_parse_size("0", &s), 0);	/* opts refuses it */
	assert_int_equal(s, 0);
	assert_int_equal(bench_parse_size("1KiB", &s), -EINVAL);
	assert_int_equal(bench_parse_size("", &s), -EINVAL);
	assert_int_equal(bench_parse_size("257M", &s), -ERANGE);
	assert_int_equal(bench_parse_size("18446744073709551616", &s),
			 -ERANGE);
	assert_int_equal(bench_parse_size("18014398509481984K", &s), -ERANGE);
}

static void test_size_str(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(bench_size_str(100, b, sizeof(b)), "100");
	assert_string_equal(bench_size_str(1024, b, sizeof(b)), "1K");
	assert_string_equal(bench_size_str(65536, b, sizeof(b)), "64K");
	assert_string_equal(bench_size_str(1536, b, sizeof(b)), "1536");
	assert_string_equal(bench_size_str(1048576, b, sizeof(b)), "1M");
	assert_string_equal(bench_size_str(1049600, b, sizeof(b)), "1025K");
}

static void test_count_duration(void **state)
{
	(void)state;
	PARSE_OK("--count", "5000");
	assert_int_equal(o.count, 5000);
	PARSE_OK("-c1");
	assert_int_equal(o.count, 1);
	PARSE_OK("--duration", "0.25");
	assert_int_equal(o.count, 0);
	assert_true(o.duration == 0.25);
	PARSE_OK("-d", "3");
	assert_true(o.duration == 3);
	PARSE_OK("--warmup", "0");
	assert_int_equal(o.warmup, 0);
	assert_true(o.warmup_set);
	PARSE_OK("-w", "250");
	assert_int_equal(o.warmup, 250);
}

static void test_count_duration_bad(void **state)
{
	static const char *const count[] = { "'0'", "at least 1", NULL };
	static const char *const dur[] = { "seconds", NULL };

	(void)state;
	BAD("--count:", count, "--count", "0");
	BAD("--count:", NULL, "--count", "-1");
	BAD("--count:", NULL, "--count", "1.5");
	BAD("--count:", NULL, "--count", "10x");
	BAD("--count:", NULL, "--count", "");
	BAD("--count:", NULL, "--count", "99999999999999999999999");
	BAD("--duration:", dur, "--duration", "0");
	BAD("--duration:", NULL, "--duration", "-1");
	BAD("--duration:", NULL, "--duration", "abc");
	BAD("--duration:", NULL, "--duration", "nan");
	BAD("--duration:", NULL, "--duration", "inf");
	BAD("--duration:", NULL, "--duration", "1s");
	BAD("--duration:", NULL, "--duration", "");
	BAD("--duration:", NULL, "--duration", "1e9");
	BAD("--duration:", NULL, "--count", "5", "--duration", "1");
	BAD("--warmup:", NULL, "--warmup", "-1");
	BAD("--warmup:", NULL, "--warmup", "many");
}

static void test_choices(void **state)
{
	(void)state;
	PARSE_OK("--cpus", "same");
	assert_int_equal(o.cpus, BENCH_CPUS_SAME);
	assert_true(o.cpus_set);
	PARSE_OK("--cpus=split");
	assert_int_equal(o.cpus, BENCH_CPUS_SPLIT);
	PARSE_OK("--cpus", "none");
	assert_int_equal(o.cpus, BENCH_CPUS_NONE);
	PARSE_OK("--mode", "stream");
	assert_int_equal(o.mode, BENCH_STREAM);
	PARSE_OK("--mode", "pingpong");
	assert_int_equal(o.mode, BENCH_PINGPONG);
	PARSE_OK("--format", "csv");
	assert_int_equal(o.format, BENCH_CSV);
	PARSE_OK("--format", "json");
	assert_int_equal(o.format, BENCH_JSON);
	PARSE_OK("--format", "table");
	assert_int_equal(o.format, BENCH_TABLE);
	PARSE_OK("--zmq", "ipc");
	assert_string_equal(o.zmq_kind, "ipc");
	PARSE_OK("--zmq", "tcp");
	assert_string_equal(o.zmq_kind, "tcp");
}

static void test_choices_bad(void **state)
{
	static const char *const cpus[] = { "'both'", "same", "split", "none",
					    NULL };
	static const char *const mode[] = { "pingpong", "stream", NULL };
	static const char *const format[] = { "table", "csv", "json", NULL };
	static const char *const zmq[] = { "tcp", "ipc", NULL };

	(void)state;
	BAD("--cpus:", cpus, "--cpus", "both");
	BAD("--cpus:", cpus + 1, "--cpus", "0");	/* not a CPU number */
	BAD("--mode:", mode, "--mode", "bulk");
	BAD("--format:", format, "--format", "xml");
	BAD("--zmq:", zmq, "--zmq", "inproc");
	BAD("--cpus:", NULL, "--cpus");
}

static void test_flags(void **state)
{
	(void)state;
	PARSE_OK("--spin", "--baseline");
	assert_true(o.spin);
	assert_true(o.baseline);
	assert_false(o.sleep);
	PARSE_OK("--sleep");
	assert_true(o.sleep);
	BAD("--sleep:", NULL, "--spin", "--sleep");
	PARSE_OK("-h");
	assert_true(o.help);
	PARSE_OK("--help");
	assert_true(o.help);
	BAD("--spin:", NULL, "--spin=yes");
	BAD("--baseline:", NULL, "--baseline=1");
	BAD("-h:", NULL, "-hx");
}

static void test_unknown(void **state)
{
	(void)state;
	BAD("'--frobnicate'", NULL, "--frobnicate");
	BAD("'--frobnicate'", NULL, "--frobnicate=3");
	BAD("'-x'", NULL, "-x");
	BAD("'pipe'", NULL, "pipe");	/* no positional arguments */
	BAD("'-'", NULL, "-");
}

/* the roads: both by default, --via MOUNT|none, --road, --ipcfs, --cdf */
static void test_roads(void **state)
{
	(void)state;
	PARSE_OK("--count", "1");
	assert_int_equal(o.roads, BENCH_ROADS_BOTH);
	assert_null(o.via);
	assert_false(o.via_none);
	assert_null(o.ipcfs);
	assert_null(o.cdf);
	assert_true(bench_uses_mount(&o));
	assert_true(bench_uses_direct(&o));

	PARSE_OK("--via", "/mnt/ipc");
	assert_string_equal(o.via, "/mnt/ipc");
	assert_int_equal(o.roads, BENCH_ROADS_BOTH);
	PARSE_OK("--via=mount:/mnt/ipc");	/* DESIGN.md's spelling */
	assert_string_equal(o.via, "/mnt/ipc");

	PARSE_OK("--via", "none");
	assert_null(o.via);
	assert_true(o.via_none);
	assert_int_equal(o.roads, BENCH_ROADS_DIRECT);
	assert_false(bench_uses_mount(&o));
	PARSE_OK("--via", "none", "--road", "direct");
	assert_int_equal(o.roads, BENCH_ROADS_DIRECT);

	PARSE_OK("--road", "mount");
	assert_int_equal(o.roads, BENCH_ROADS_MOUNT);
	assert_false(bench_uses_direct(&o));
	PARSE_OK("--road=direct");
	assert_int_equal(o.roads, BENCH_ROADS_DIRECT);
	PARSE_OK("--road", "both", "--via", "/m");
	assert_int_equal(o.roads, BENCH_ROADS_BOTH);

	PARSE_OK("--ipcfs", "/usr/bin/ipcfs", "--cdf", "/tmp/cdf.csv");
	assert_string_equal(o.ipcfs, "/usr/bin/ipcfs");
	assert_string_equal(o.cdf, "/tmp/cdf.csv");

	assert_int_equal(o.daemon_cpu, BENCH_DAEMON_CPU_AUTO);
	PARSE_OK("--daemon-cpu", "1");
	assert_int_equal(o.daemon_cpu, 1);
	PARSE_OK("--daemon-cpu=none");
	assert_int_equal(o.daemon_cpu, -1);
}

static void test_roads_bad(void **state)
{
	static const char *const road[] = { "'fuse'", "both", "direct",
					    "mount", "net", NULL };
	static const char *const none[] = { "'mount'", "none", NULL };

	(void)state;
	BAD("--road:", road, "--road", "fuse");
	BAD("--road:", none, "--via", "none", "--road", "mount");
	BAD("--road:", NULL, "--road", "both", "--via", "none");
	BAD("--via:", NULL, "--via", "/mnt/ipc", "--road", "direct");
	BAD("--via:", NULL, "--via", "");
	BAD("--via:", NULL, "--via", "mount:");
	BAD("--via:", NULL, "--via");
	BAD("--ipcfs:", NULL, "--ipcfs", "");
	BAD("--cdf:", NULL, "--cdf", "");
	BAD("--daemon-cpu:", NULL, "--daemon-cpu", "-1");
	BAD("--daemon-cpu:", NULL, "--daemon-cpu", "x");
	BAD("--daemon-cpu:", NULL, "--daemon-cpu", "99999");
}

/* stream through the mount: 4K, 64K, 1M and the byte transports */
static void test_stream_defaults(void **state)
{
	int i;

	(void)state;
	PARSE_OK("--mode", "stream");
	assert_int_equal(o.nsizes, 3);
	assert_int_equal(o.sizes[0], 4096);
	assert_int_equal(o.sizes[1], 65536);
	assert_int_equal(o.sizes[2], 1048576);
	assert_true(o.ntransports > 0);
	for (i = 0; i < o.ntransports; i++)
		assert_false(o.transports[i]->caps & IPC_MESSAGES);

	PARSE_OK("--mode", "stream", "--size", "100");	/* given: kept */
	assert_int_equal(o.nsizes, 1);
	assert_int_equal(o.sizes[0], 100);
	PARSE_OK("--mode", "stream", "-t", "mqueue");
	assert_int_equal(o.ntransports, 1);
	assert_string_equal(o.transports[0]->name, "mqueue");

	PARSE_OK("--mode", "stream", "--via", "none");	/* as before */
	assert_int_equal(o.nsizes, 2);
	assert_int_equal(o.ntransports, ntransports());
}

#define NET	"--net", "nsA=169.254.77.1,/run/netns/nsB=169.254.77.2"

/* --road net: --net's two hosts, --via and --peer; a size above a
 * limit skips its row, and the control row is always there */
static void test_road_net(void **state)
{
	(void)state;
	PARSE_OK("--road", "net", NET, "--via", "/a", "--peer", "/b/net/a", "-t", "pipe");
	assert_int_equal(o.roads, BENCH_ROADS_NET);
	assert_true(bench_uses_mount(&o) && bench_uses_direct(&o) && bench_paired(&o));
	assert_string_equal(o.netns[0], "nsA");
	assert_string_equal(o.net_addr[0], "169.254.77.1");
	assert_string_equal(o.netns[1], "/run/netns/nsB");
	assert_string_equal(o.net_addr[1], "169.254.77.2");
	assert_string_equal(o.via, "/a");
	assert_string_equal(o.peer, "/b/net/a");
	assert_int_equal(o.ntransports, 1);
	assert_true(o.all);
	PARSE_OK("--count", "1");	/* nothing kept */
	assert_string_equal(o.netns[0], "");
	assert_null(o.peer);
	assert_false(bench_paired(&o) && o.roads != BENCH_ROADS_BOTH);
}

static void test_road_net_bad(void **state)
{
	static const char *const hosts[] = { "NS_A=ADDR,NS_B=ADDR", "IPv4", NULL };
	static const char *const needs[] = { "--net", "--via", "--peer", NULL };

	(void)state;
	BAD("--road:", needs, "--road", "net");
	BAD("--road:", needs, "--road", "net", NET, "--via", "/a");
	BAD("--road:", needs, "--road", "net", "--peer", "/b", "--via", "/a");
	BAD("--road:", needs, "--road", "net", NET, "--peer", "/b");
	BAD("--road:", NULL, "--road", "net", NET, "--via", "none", "--peer", "/b");
	BAD("--net:", hosts, "--net", "a=1.2.3.4");
	BAD("--net:", hosts, "--net", "a=1.2.3.4,b=1.2.3.999");
	BAD("--net:", hosts, "--net", "a=1.2.3.4,b=1.2.3.5,c=1.1.1.1");
	BAD("--net:", hosts, "--net", "=1.2.3.4,b=1.2.3.5");
	BAD("--net:", hosts, "--net", "a=host,b=1.2.3.5");
	BAD("--net:", hosts, "--net", "");
	BAD("--net:", NULL, NET);	/* without --road net */
	BAD("--peer:", NULL, "--peer", "/b");
	BAD("--peer:", NULL, "--road", "net", NET, "--via", "/a", "--peer", "");
	BAD("--baseline:", NULL, "--road", "net", NET, "--via", "/a", "--peer", "/b",
	    "--baseline");
	BAD("--zmq:", NULL, "--road", "net", NET, "--via", "/a", "--peer", "/b",
	    "--zmq", "ipc");
}

/* the parser keeps nothing between calls (no getopt state) */
static void test_reentrant(void **state)
{
	(void)state;
	PARSE_OK("--transport", "pipe", "--size", "4", "--count", "9");
	BAD("--size:", NULL, "--size", "x");
	PARSE_OK("--count", "9");
	assert_int_equal(o.count, 9);
	assert_int_equal(o.nsizes, 2);	/* back to the defaults */
	assert_true(o.all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_transport),
		cmocka_unit_test(test_transport_bad),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_size_sweep),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_size_str),
		cmocka_unit_test(test_count_duration),
		cmocka_unit_test(test_count_duration_bad),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_choices_bad),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_reentrant),
		cmocka_unit_test(test_roads),
		cmocka_unit_test(test_roads_bad),
		cmocka_unit_test(test_road_net),
		cmocka_unit_test(test_road_net_bad),
		cmocka_unit_test(test_stream_defaults),
	};

	return cmocka_run_group_tests_name("bench_opts", tests, NULL, NULL);
}
