/*
 * transports.c - writes a man page from its template (ipcfs.8.in,
 * ipcfs-bench.1.in) with the line "@TRANSPORTS@" replaced by one mdoc
 * item per transport of the registry: its name, its one line, and
 * whether it keeps message boundaries (or is the control). So a mechanism added to
 * registry.c appears in both pages at the next build, unedited.
 *
 *	transports TEMPLATE OUTPUT
 */
#include <err.h>
#include <stdio.h>
#include <string.h>

#include "transport.h"

/* s as mdoc text: a backslash is \e, and a line never starts with a
 * control character (. or ') */
static void mdoc_text(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++)
		if (*s == '\\')
			fputs("\\e", f);
		else
			fputc(*s, f);
}

static void list(FILE *f)
{
	const struct ipc_transport *const *t;

	fputs(".Bl -tag -width unixdgram\n", f);
	for (t = ipc_transports; *t; t++) {
		fprintf(f, ".It Pa %s\n", (*t)->name);
		mdoc_text(f, (*t)->what ? (*t)->what : "(not described)");
		fputs(".\n", f);
		if ((*t)->caps & IPC_LOCAL)
			fputs("Present only with\n.Fl o Cm control .\n", f);
		else if ((*t)->caps & IPC_MESSAGES)
			fputs("One write is one message.\n", f);
	}
	fputs(".El\n", f);
}

int main(int argc, char **argv)
{
	char line[4096];
	FILE *in, *out;

	if (argc != 3)
		errx(2, "usage: transports TEMPLATE OUTPUT");
	in = fopen(argv[1], "re");
	if (!in)
		err(1, "%s", argv[1]);
	out = fopen(argv[2], "we");
	if (!out)
		err(1, "%s", argv[2]);
	while (fgets(line, sizeof(line), in))
		if (strcmp(line, "@TRANSPORTS@\n") == 0)
			list(out);
		else
			fputs(line, out);
	if (ferror(in))
		err(1, "%s", argv[1]);
	if (fclose(out) != 0)
		err(1, "%s", argv[2]);
	fclose(in);
	return 0;
}
