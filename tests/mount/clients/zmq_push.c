/*
 * zmq_push.c - an outsider's ZeroMQ messages: push each MESSAGE ("" is
 * an empty one, "@N" N bytes of garbage) to ENDPOINT over one connection,
 * in order, wait until they have gone, exit.
 *
 *   zmq_push tcp://127.0.0.1:PORT MESSAGE...
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

int main(int argc, char **argv)
{
	int linger = 5000;
	void *ctx, *s;

	if (argc < 3)
		errx(2, "usage: zmq_push ENDPOINT MESSAGE...");
	ctx = zmq_ctx_new();
	s = ctx ? zmq_socket(ctx, ZMQ_PUSH) : NULL;
	if (!s)
		err(1, "zmq_socket");
	if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
	    zmq_connect(s, argv[1]) < 0)
		err(1, "zmq_connect %s", argv[1]);
	for (int i = 2; i < argc; i++) {
		/* "@N": N bytes of garbage rather than the text */
		size_t n = argv[i][0] == '@' ? strtoul(argv[i] + 1, NULL, 0) :
			   strlen(argv[i]);
		char *m = argv[i][0] == '@' ? calloc(1, n + 1) : argv[i];

		if (!m)
			err(1, "calloc");
		for (size_t k = 0; argv[i][0] == '@' && k < n; k++)
			m[k] = (char)(k * 131 + 7);
		if (zmq_send(s, m, n, 0) < 0)
			err(1, "zmq_send");
		if (m != argv[i])
			free(m);
	}
	/* close and term wait (up to the linger) until it is sent */
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
