/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host side's parts (vm/vm.h is the contract), shared by create.c,
 * qemu.c, monitor*.c and exec*.c only.
 */
#ifndef HUSK_VM_HOST_H
#define HUSK_VM_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/error.h"
#include "proto.h"

struct husk_opts;
struct json_object;

/* ---- qemu.c ---------------------------------------------------------- */

/* The fds QEMU inherits, at these numbers. */
#define VM_QEMU_CTL_FD 3
#define VM_QEMU_TAP_FD 4

struct vm_share {
	char tag[16]; /* "s1", "s2", ... */
	char *source; /* absolute host directory */
	bool readonly; /* every mount from it is read-only: so is the share */
};

struct vm_qemu_cfg {
	const char *qemu;    /* the binary */
	const char *vmlinux; /* PVH ELF */
	const char *initrd;
	bool kvm;
	unsigned cpus;
	unsigned mem_mib;
	unsigned long tsc_khz; /* 0: unknown, left out */
	const char *rootfs;
	const struct vm_share *shares;
	size_t n_shares;
	int ctl_fd;              /* a connected socket QEMU inherits */
	int tap_fd;              /* a tap's queue QEMU inherits; 0: no network */
	const char *mac;         /* the guest's virtio-net MAC, with tap_fd */
	const char *console_log; /* the guest's serial console goes here */
	bool debug;              /* a chatty guest kernel and agent */
};

/* NULL-terminated, heap strings (free with cleanup_strvp). */
char **vm_qemu_argv(const struct vm_qemu_cfg *c);

/* qemu-system-x86_64 in $HUSK_QEMU or PATH. */
int vm_find_qemu(char **path, husk_error **err);

/* /dev/kvm opens, answers KVM_GET_API_VERSION, and the CPU has VMX or SVM;
 * $HUSK_VM_ACCEL=kvm or tcg decides instead. */
bool vm_kvm_usable(void);

/* The host TSC in kHz (the guest's under TCG too), 0 when unknown. */
unsigned long vm_host_tsc_khz(void);

/* vCPUs and MiB from linux.resources (may be NULL): cpu quota/period
 * rounded up (default 1, at most the host's CPUs), memory.limit rounded up
 * (at least 128, default 256). */
void vm_machine_size(struct json_object *resources, unsigned *cpus, unsigned *mem_mib);

/* The limits the host cgroup (monitor + QEMU) gets: the container's, with
 * room for QEMU itself above the guest's memory and tasks, and the devices
 * QEMU opens (kvm, vhost). A new object (caller puts it). */
struct json_object *vm_host_resources(struct json_object *resources);

/* ---- monitor.c, monitor_loop.c -------------------------------------- */

#define VM_MAX_EXECS 64

struct vm_exec_session {
	uint16_t proc;   /* 0: free slot */
	int sock;        /* the `husk exec` client, -1 once it went away */
	int fd[3];       /* its stdin, stdout, stderr; -1 once closed */
	bool started;
	bool stdin_done;
};

struct vm_monitor {
	const struct husk_opts *o;
	char *state_dir; /* absolute */
	char **qemu_argv;
	char *create_json; /* the CREATE payload */
	unsigned boot_timeout_ms;
	bool terminal;
	/* from create, at the fd numbers state.json records */
	int sync_fd;
	int start_rd, start_wr;
	int exec_wr;
	/* the monitor's own */
	int dirfd; /* O_PATH to state_dir, not the locked one */
	int ctl;   /* our end of QEMU's control socket */
	int qemu_ctl; /* QEMU's end, until QEMU has it */
	int tap;      /* the tap's queue, until QEMU has it; -1: no network */
	pid_t qemu;
	int qemu_pidfd;
	bool qemu_exited;
	int qemu_status; /* waitpid's, once qemu_exited */
	int sfd;   /* signalfd */
	int exec_listen;
	/* the container's process */
	bool start_sent, started, stdin_done;
	struct vm_exec_session execs[VM_MAX_EXECS];
	uint16_t next_proc;
};

/* The monitor's life, from fork to exit (vm/monitor.c). */
__attribute__((noreturn)) void vm_monitor_main(struct vm_monitor *m);

/* After SYNC_COMMIT: relays until the container's process exits or QEMU
 * dies; exits the monitor (vm/monitor_loop.c). */
__attribute__((noreturn)) void vm_monitor_loop(struct vm_monitor *m);

/* Shared by both halves (vm/monitor.c). */
void vm_monitor_kill_qemu(struct vm_monitor *m);
/* Waits up to ms for QEMU to exit; true when it did. */
bool vm_monitor_wait_qemu(struct vm_monitor *m, int ms);
/* QEMU's exit status and the tail of the console, for an error message. */
char *vm_monitor_qemu_reason(struct vm_monitor *m, const char *what);
/* Ends this process the way wstatus says: the same exit code, or killed
 * by the same signal (no core dump), as waitpid in an engine expects. */
__attribute__((noreturn)) void vm_exit_like(int wstatus);
/* The signals the monitor forwards (all catchable ones but SIGCHLD and
 * SIGPIPE). */
void vm_forwarded_signals(sigset_t *set);

/* ---- exec_wire.c: `husk exec` <-> monitor ---------------------------- */

/* The client speaks vm/proto.h frames too (proc unused): EXEC with the
 * process JSON and three fds, then SIGNAL/RESIZE; the monitor answers
 * STARTED or ERROR, then EXIT. */
int vm_send_fds(int sock, uint16_t type, const void *data, size_t len, const int *fds,
		size_t n_fds, husk_error **err);
/* vm_recv() that also takes up to n_fds fds (set to -1 when none came). */
int vm_recv_fds(int sock, struct vm_frame *f, int *fds, size_t n_fds, husk_error **err);

#endif
