/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * husk's guest agent: PID 1 of a micro-VM. It boots the guest (mounts,
 * modules: boot.c), opens the "ctl" virtio-serial port and speaks
 * vm/proto.h with the host's monitor (loop.c), makes the container from
 * CREATE with husk's own spec, rootfs and process code (create.c, run.c)
 * and relays the processes' stdio (stdio.c).
 *
 * Guest layout: the initramfs root is bound over itself first (boot.c:
 * pivot_root(2) refuses to move the initramfs itself); /proc, /sys, /dev
 * (devtmpfs), /dev/pts, /sys/fs/cgroup (cgroup2) and a tmpfs on /run.
 * The rootfs tag is mounted on AGENT_ROOTFS, each share on
 * AGENT_SHARES/<tag>.
 *
 * Namespaces: the guest kernel is the boundary. The container gets a new
 * mount namespace, and a new pid, uts and ipc namespace when config.json
 * asks for one. network, user, cgroup and time namespaces are not made
 * (the guest's network is the container's: lo, and with --network the
 * virtio-net interface net.c configures; its only users are the
 * container's), and joining a namespace by path is refused for the four
 * it makes, since a host path names nothing in the guest.
 *
 * PID 1 must never exit (the kernel panics): every fatal error is printed
 * on the console and the guest powers off (agent_poweroff()).
 */
#ifndef HUSK_VM_AGENT_AGENT_H
#define HUSK_VM_AGENT_AGENT_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../base/error.h"
#include "../../spec/spec.h"

#define AGENT_ROOTFS "/run/husk/rootfs"
#define AGENT_SHARES "/run/husk/shares"
#define AGENT_MAX_PROCS 64

/* One process of the container: proc 0 (config.json's) or an exec'd one. */
struct agent_proc {
	bool used;
	uint16_t id;
	pid_t pid;
	bool terminal;
	bool exit_due; /* CREATED/STARTED sent: the host waits for its EXIT */
	bool started;  /* proc 0: START done */
	int ctl;       /* to the child until it has exec'd (run.c), or -1 */
	int in;        /* its stdin (the pty master with a terminal), or -1 */
	int out, err;  /* its stdout and stderr (out: the pty master), or -1 */
	char *in_buf;  /* STDIN bytes not written yet */
	size_t in_len;
	bool in_eof;   /* the host closed stdin: close once in_buf is out */
};

struct agent {
	int port;  /* the "ctl" virtio-serial port */
	int sigfd; /* SIGCHLD */
	bool debug;
	bool floor;
	struct spec *spec;       /* from CREATE */
	scmp_filter_ctx seccomp; /* linux.seccomp, built once, or NULL */
	int ns_flags;            /* CLONE_NEW* of the container */
	struct agent_proc procs[AGENT_MAX_PROCS];
};

/* main.c */
__attribute__((noreturn)) void agent_poweroff(void);
__attribute__((noreturn, format(printf, 1, 2))) void agent_fatal(const char *fmt, ...);
/* To the console with the time since boot, when husk.debug=1. */
void agent_log(const struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Always to the console. */
void agent_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* boot.c */
/* Console on fds 0-2, the root bind, the guest's mounts, the kernel
 * command line (husk.debug=1, husk.floor=1), every /modules/NN-*.ko. */
int agent_boot(struct agent *a, husk_error **err);
/* Waits for the virtio-serial port named VM_PORT_NAME and opens it. */
int agent_open_port(struct agent *a, husk_error **err);

/* create.c: CREATE's payload -> a->spec, rootfs and shares mounted, checked,
 * the network configured. */
int agent_create_prepare(struct agent *a, const char *json, size_t len, husk_error **err);

/* net.c: lo up; with CREATE's "network" (vm/proto.h; NULL: none), the
 * virtio-net interface with its MAC configured and up. */
struct json_object;
int agent_net_setup(struct agent *a, struct json_object *net, husk_error **err);

/* run.c: the child processes; each returns once the child has answered.
 * agent_spawn_init(): proc 0 exists and waits for START; agent_start_init():
 * its program runs; agent_spawn_exec(): proc id's program runs. */
int agent_spawn_init(struct agent *a, husk_error **err);
int agent_start_init(struct agent *a, husk_error **err);
int agent_spawn_exec(struct agent *a, uint16_t id, const char *json, size_t len,
		     husk_error **err);

/* stdio.c: the process table and the relay of its stdio. */
struct agent_proc *agent_proc_new(struct agent *a, uint16_t id, husk_error **err);
struct agent_proc *agent_proc_find(struct agent *a, uint16_t id);
void agent_proc_release(struct agent_proc *p);
/* Pipes (or nothing, with a terminal: the child sends the pty master) for
 * the child's stdio; child_fds gets the child's ends (-1 with a terminal). */
int agent_proc_pipes(struct agent_proc *p, int child_fds[3], husk_error **err);
void agent_proc_set_master(struct agent_proc *p, int master);
/* Queues STDIN bytes (len 0: close once written). */
void agent_proc_stdin(struct agent_proc *p, const char *data, size_t len);
/* Reads what fd (p->out or p->err) holds and sends it; at EOF sends the
 * empty frame and closes it. With drain, reads until nothing is left. */
int agent_proc_relay(struct agent *a, struct agent_proc *p, int *fd, bool drain,
		     husk_error **err);
/* Writes what in_buf holds, as far as the pipe takes it. */
void agent_proc_flush_stdin(struct agent_proc *p);

/* loop.c: returns when the guest should power off. */
void agent_loop(struct agent *a);

#endif
