/*
 * zmq_push.c - an outsider's ZeroMQ messages: push each MESSAGE ("" is
 * an empty one) to ENDPOINT over one connection, in order, wait until
 * they have gone, exit.
 *
 *   zmq_push tcp://127.0.0.1:PORT MESSAGE...
 */
#include <err.h>
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
	for (int i = 2; i < argc; i++)
		if (zmq_send(s, argv[i], strlen(argv[i]), 0) < 0)
			err(1, "zmq_send");
	/* close and term wait (up to the linger) until it is sent */
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}
