// SPDX-License-Identifier: GPL-2.0
/*
 * Print the mini_tcp connection state machine (fsm.c) as a Graphviz digraph.
 *
 *   cc -Wall -Wextra -Werror -I. -o build/fsm_dot scripts/fsm_dot.c fsm.c
 *   ./build/fsm_dot > build/fsm.dot && dot -Tsvg build/fsm.dot -o build/fsm.svg
 *
 * One edge per valid transition, labelled "event / actions".  Transitions
 * that change state are solid; valid transitions that keep the state are
 * dashed grey self-loops (-n leaves them out).  The passive SYN_RECEIVED (a
 * request sock, mtcp_fsm_lookup_passive()) is drawn in blue wherever it
 * differs from the active one, e.g. RST -> LISTEN.  Nothing here encodes
 * the table: everything is read back through the fsm.h interface.
 *
 * -H FILE highlights a path taken, e.g. by the connections of scripts/demo:
 * each line "FROM TO [COLOR [EVENT]]" is one observed transition (EVENT, the
 * rest of the line, e.g. "rcv ACK of FIN", picks one of several edges
 * FROM -> TO; without it all of them are highlighted), with the state
 * names of the table or of the sock:inet_sock_set_state tracepoint
 * (TCP_SYN_SENT or SYN_SENT; NEW_SYN_RECV counts as SYN_RECEIVED).  Every
 * edge FROM -> TO of the table is drawn bold in COLOR (default red) and its
 * states are filled; an observed transition the table does not have is
 * added as a dotted edge labelled "observed, not in the table".  A line
 * "# legend: TEXT" is added to the graph's title.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"

/* Figure 5 of RFC 9293, top to bottom: states on one line share a rank. */
static const int ranks[][4] = {
	{ TCP_CLOSE, -1 },
	{ TCP_LISTEN, -1 },
	{ TCP_SYN_RECV, TCP_SYN_SENT, -1 },
	{ TCP_ESTABLISHED, -1 },
	{ TCP_FIN_WAIT1, TCP_CLOSE_WAIT, -1 },
	{ TCP_FIN_WAIT2, TCP_CLOSING, TCP_LAST_ACK, -1 },
	{ TCP_TIME_WAIT, -1 },
};

#define MAX_HL 64

static struct {
	int from, to, ev;
	char color[32];
	int used;
} hl[MAX_HL];
static int n_hl;
static char legend[512];
static char state_color[MTCP_FSM_LAST_STATE + 1][32];

/* A state by the table's name or the tracepoint's (TCP_ prefix optional). */
static int state_by_name(const char *n)
{
	static const struct { const char *name; int state; } trace_names[] = {
		{ "ESTABLISHED", TCP_ESTABLISHED }, { "SYN_SENT", TCP_SYN_SENT },
		{ "SYN_RECV", TCP_SYN_RECV }, { "NEW_SYN_RECV", TCP_SYN_RECV },
		{ "FIN_WAIT1", TCP_FIN_WAIT1 }, { "FIN_WAIT2", TCP_FIN_WAIT2 },
		{ "TIME_WAIT", TCP_TIME_WAIT }, { "CLOSE", TCP_CLOSE },
		{ "CLOSE_WAIT", TCP_CLOSE_WAIT }, { "LAST_ACK", TCP_LAST_ACK },
		{ "LISTEN", TCP_LISTEN }, { "CLOSING", TCP_CLOSING },
	};
	unsigned int i;
	int s;

	if (!strncmp(n, "TCP_", 4))
		n += 4;
	for (s = MTCP_FSM_FIRST_STATE; s <= MTCP_FSM_LAST_STATE; s++)
		if (!strcmp(n, mtcp_state_name(s)))
			return s;
	for (i = 0; i < sizeof(trace_names) / sizeof(trace_names[0]); i++)
		if (!strcmp(n, trace_names[i].name))
			return trace_names[i].state;
	return -1;
}

static int read_highlights(const char *path)
{
	char line[512], a[64], b[64], c[32], e[64];
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		int n, from, to, ev = -1;

		lineno++;
		if (!strncmp(line, "# legend: ", 10)) {
			snprintf(legend, sizeof(legend), "%s", line + 10);
			legend[strcspn(legend, "\n")] = 0;
			continue;
		}
		if (line[0] == '#')
			continue;
		e[0] = 0;
		n = sscanf(line, "%63s %63s %31s %63[^\n]", a, b, c, e);
		if (n < 2)
			continue;
		if (e[0]) {
			for (ev = 0; ev < MTCP_EV_NR; ev++)
				if (!strcmp(e, mtcp_event_name((enum mtcp_event)ev)))
					break;
			if (ev == MTCP_EV_NR) {
				fprintf(stderr, "%s:%d: unknown event \"%s\"\n", path, lineno, e);
				fclose(f);
				return -1;
			}
		}
		if (n < 3)
			strcpy(c, "red");
		from = state_by_name(a);
		to = state_by_name(b);
		if (from < 0 || to < 0) {
			fprintf(stderr, "%s:%d: unknown state in \"%s %s\"\n",
				path, lineno, a, b);
			fclose(f);
			return -1;
		}
		if (from == to)
			continue;
		if (n_hl == MAX_HL)
			break;
		hl[n_hl].from = from;
		hl[n_hl].to = to;
		hl[n_hl].ev = ev;
		snprintf(hl[n_hl].color, sizeof(hl[n_hl].color), "%s", c);
		snprintf(state_color[from], sizeof(state_color[from]), "%s", c);
		snprintf(state_color[to], sizeof(state_color[to]), "%s", c);
		n_hl++;
	}
	fclose(f);
	return 0;
}

/*
 * The colour of the first highlight FROM -> TO on event EV (-1: any),
 * marking it drawn, or NULL.
 */
static const char *highlight(int from, int to, int ev)
{
	const char *color = NULL;
	int i;

	for (i = 0; i < n_hl; i++) {
		if (hl[i].from == from && hl[i].to == to &&
		    (hl[i].ev < 0 || ev < 0 || hl[i].ev == ev)) {
			if (!color)
				color = hl[i].color;
			hl[i].used = 1;
		}
	}
	return color;
}

/* Print s as the body of a DOT double-quoted string. */
static void put_escaped(const char *s)
{
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
}

static void put_actions(unsigned int acts)
{
	unsigned int bit;
	int first = 1;

	if (!acts) {
		fputs("-", stdout);
		return;
	}
	for (bit = 1; bit; bit <<= 1) {
		const char *n;

		if (!(acts & bit))
			continue;
		n = mtcp_action_name(bit);
		if (!first)
			putchar('|');
		first = 0;
		if (n)
			put_escaped(n);
		else
			printf("0x%x", bit);
	}
}

static int rank_of(int state)
{
	unsigned int r;
	int i;

	for (r = 0; r < sizeof(ranks) / sizeof(ranks[0]); r++)
		for (i = 0; ranks[r][i] >= 0; i++)
			if (ranks[r][i] == state)
				return (int)r;
	return -1;
}

static int same(struct mtcp_transition a, struct mtcp_transition b)
{
	if (!a.valid || !b.valid)
		return a.valid == b.valid;
	return a.next == b.next && a.actions == b.actions;
}

static void edge(int from, struct mtcp_transition t, enum mtcp_event ev,
		 int passive, int self_loops)
{
	int loop = t.next == from;
	const char *style, *hc;

	if (!t.valid || (loop && !self_loops))
		return;
	if (passive)
		style = loop ? "style=dashed, color=blue, fontcolor=blue"
			     : "style=bold, color=blue, fontcolor=blue";
	else
		style = loop ? "style=dashed, color=gray50, fontcolor=gray50"
			     : "style=solid";
	printf("\ts%d -> s%d [label=\"", from, t.next);
	put_escaped(mtcp_event_name(ev));
	if (passive)
		fputs(" (passive)", stdout);
	fputs(" / ", stdout);
	put_actions(t.actions);
	/* edges back up Figure 5 (mostly into CLOSED) must not drag the layout */
	hc = loop ? NULL : highlight(from, t.next, (int)ev);
	if (hc)
		printf("\", %s, color=\"%s\", fontcolor=\"%s\", penwidth=3%s];\n",
		       passive ? "style=bold" : "style=solid", hc, hc,
		       rank_of(t.next) < rank_of(from) ? ", constraint=false" : "");
	else
		printf("\", %s%s];\n", style,
		       rank_of(t.next) < rank_of(from) ? ", constraint=false" : "");
}

int main(int argc, char **argv)
{
	int self_loops = 1;
	unsigned int r;
	int s, ev, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n")) {
			self_loops = 0;
		} else if (!strcmp(argv[i], "-H") && i + 1 < argc) {
			if (read_highlights(argv[++i]))
				return 1;
		} else {
			fprintf(stderr,
				"usage: %s [-n] [-H FILE]\n"
				"  prints the mini_tcp state machine as Graphviz DOT on stdout\n"
				"  -n       leave out transitions that keep the state\n"
				"  -H FILE  highlight the transitions \"FROM TO [COLOR]\" in FILE\n",
				argv[0]);
			return !strcmp(argv[i], "-h") ? 0 : 2;
		}
	}

	printf("/* generated by scripts/fsm_dot.c from fsm.c: do not edit */\n");
	printf("digraph mini_tcp {\n");
	printf("\tlabel=\"mini_tcp connection state machine (RFC 9293 Figure 5; "
	       "blue: passive SYN_RECEIVED / request sock)");
	if (legend[0]) {
		fputs("\\n", stdout);
		put_escaped(legend);
	}
	printf("\";\n");
	printf("\tlabelloc=t;\n");
	printf("\tnewrank=true;\n");
	printf("\tnode [shape=ellipse, fontname=\"Helvetica\"];\n");
	printf("\tedge [fontname=\"Helvetica\", fontsize=9];\n");

	for (s = MTCP_FSM_FIRST_STATE; s <= MTCP_FSM_LAST_STATE; s++) {
		printf("\ts%d [label=\"", s);
		put_escaped(mtcp_state_name(s));
		printf("\"%s", s == TCP_CLOSE ? ", peripheries=2" : "");
		if (state_color[s][0])
			printf(", style=filled, fillcolor=\"#fff5d6\", color=\"%s\", penwidth=2",
			       state_color[s]);
		printf("];\n");
	}
	for (r = 0; r < sizeof(ranks) / sizeof(ranks[0]); r++) {
		if (ranks[r][1] < 0)
			continue;
		printf("\t{ rank=same;");
		for (i = 0; ranks[r][i] >= 0; i++)
			printf(" s%d;", ranks[r][i]);
		printf(" }\n");
	}

	/* invisible spine keeping Figure 5's top-to-bottom order */
	printf("\t");
	for (r = 0; r < sizeof(ranks) / sizeof(ranks[0]); r++)
		printf("%ss%d", r ? " -> " : "", ranks[r][0]);
	printf(" [style=invis];\n");

	for (s = MTCP_FSM_FIRST_STATE; s <= MTCP_FSM_LAST_STATE; s++)
		for (ev = 0; ev < MTCP_EV_NR; ev++)
			edge(s, mtcp_fsm_lookup(s, (enum mtcp_event)ev),
			     (enum mtcp_event)ev, 0, self_loops);

	/* The request sock: only where it differs from the active SYN_RECEIVED. */
	for (ev = 0; ev < MTCP_EV_NR; ev++) {
		struct mtcp_transition p = mtcp_fsm_lookup_passive((enum mtcp_event)ev);

		if (!same(p, mtcp_fsm_lookup(TCP_SYN_RECV, (enum mtcp_event)ev)))
			edge(TCP_SYN_RECV, p, (enum mtcp_event)ev, 1, self_loops);
	}

	/* observed transitions the table does not have */
	for (i = 0; i < n_hl; i++) {
		if (hl[i].used || highlight(hl[i].from, hl[i].to, -1) != hl[i].color)
			continue;
		printf("\ts%d -> s%d [label=\"observed, not in the table\", style=dotted, "
		       "color=\"%s\", fontcolor=\"%s\", penwidth=3, constraint=false];\n",
		       hl[i].from, hl[i].to, hl[i].color, hl[i].color);
	}

	printf("}\n");
	return ferror(stdout) ? 1 : 0;
}
