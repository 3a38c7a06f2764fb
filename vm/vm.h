/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Micro-VM mode, the host side: the same bundle, run under QEMU's microvm
 * machine with its own kernel, behind the same command line.
 *
 * Selection (any of): `create/run --vm`, the annotation io.husk.vm=true in
 * config.json, or husk started under the name `husk-vm` (a symlink), so an
 * engine can register it as a runtime binary of its own. The guest kernel
 * is --vm-kernel, else the annotation io.husk.vm.kernel, else
 * $HUSK_VM_KERNEL, else the newest /boot/vmlinuz-*. The guest agent is
 * $HUSK_AGENT, else husk-agent beside the husk binary; boot artifacts are
 * cached in $HUSK_VM_CACHE, else /var/cache/husk/vm (vm/boot.h).
 *
 * The monitor. `create` forks it where it would clone a container's init;
 * state.json's pid is the monitor, so `state`, `kill`, `delete`, shims and
 * `run` see an ordinary process:
 *
 *   create                         monitor (in the container's cgroup)
 *   ------                         -------
 *   boot artifacts, QEMU argv
 *   fork ---------------------->   waits for SYNC_CGROUP_DONE
 *   cgroup, resources, hooks
 *   SYNC_CGROUP_DONE ---------->   starts QEMU (its child, PDEATHSIG),
 *                                  waits for READY, sends CREATE, waits
 *                                  for CREATED (vm/proto.h)
 *                             <-   SYNC_READY, or SYNC_ERROR with the
 *                                  guest's or QEMU's reason
 *   state.json, pid file
 *   SYNC_COMMIT ---------------->  holds the start pipe (status "created")
 *   exit                           until `husk start` writes its byte
 *
 * (struct sync_msg and runtime/sync.h's rules: the monitor dies with create
 * until SYNC_COMMIT.) `start` is unchanged: the monitor keeps the read end
 * of a start pipe at the fd number state.json records and the write end of
 * an exec pipe; on the byte it sends START, closes the start pipe (status
 * "running") and closes the exec pipe on STARTED, or writes the guest's
 * error into it. Afterwards it relays: its stdin to STDIN frames, STDOUT and
 * STDERR frames to its fds 1 and 2 (the container's stdio as the engine gave
 * it to create), every catchable signal it receives to SIGNAL frames (so
 * `husk kill` signals the monitor as it would an init), and exec sessions
 * (below). On EXIT of the container's process it waits (bounded) for QEMU
 * to power off and exits the same way: the code, or killed by the same
 * signal. When QEMU dies first it writes the reason (QEMU's status and the
 * tail of the guest console) to VM_EXIT_REASON in the state directory and
 * to the log, and exits 255.
 *
 * Terminal: create opens a pty, sends the master over the console socket
 * (or keeps it for `run`) and gives the monitor the slave as its stdio and
 * controlling terminal; the guest runs its own pty, so the host side stays
 * raw, and a resize (SIGWINCH) becomes a RESIZE frame.
 *
 * exec: `husk exec` connects to VM_EXEC_SOCK in the state directory, sends
 * the process object with its stdin, stdout and stderr (SCM_RIGHTS), and
 * gets STARTED or ERROR, then EXIT with the wait status (vm/exec.c). With
 * --detach it leaves a relay process behind that waits for the EXIT and
 * exits the same way; --pid-file names the relay, as shims expect a pid to
 * wait on.
 *
 * Network: with --network (or io.husk.network), create takes an address
 * and makes a tap on the bridge before it forks the monitor
 * (netns_attach_tap, netns/netns.h); the monitor passes the tap's fd to
 * QEMU as VM_QEMU_TAP_FD and closes its own, so the tap lives exactly as
 * long as QEMU. CREATE's "network" tells the agent how to configure the
 * guest's side (vm/proto.h). delete releases the address as for a plain
 * container.
 *
 * Files in the state directory: VM_CONSOLE_LOG (the guest's serial
 * console), VM_QEMU_LOG (QEMU's own stderr), VM_EXEC_SOCK, VM_EXIT_REASON.
 */
#ifndef HUSK_VM_VM_H
#define HUSK_VM_VM_H

#include <stdbool.h>

#include "../base/error.h"

#define VM_ANNOTATION "io.husk.vm"
#define VM_ANNOTATION_KERNEL "io.husk.vm.kernel"
#define VM_ARGV0 "husk-vm"

#define VM_CONSOLE_LOG "console.log"
#define VM_QEMU_LOG "qemu.log"
#define VM_EXEC_SOCK "vm-exec.sock"
#define VM_EXIT_REASON "vm-exit-reason"

struct husk_opts;
struct create_opts;
struct create_job;
struct container;
struct spec;
struct spec_process;
struct exec_opts;
struct json_object;

/* --vm, the annotation, or the husk-vm name. */
bool vm_selected(const struct husk_opts *o, const struct create_opts *c, const struct spec *s);

/* What VM mode cannot do yet, refused by name (called from create's
 * validation). */
int vm_validate(const struct spec *s, const struct create_opts *c, husk_error **err);

/* create's step from fork to ready in VM mode (where a container's init is
 * cloned and driven, runtime/create_spawn.c): sets j->st.pid and friends
 * and j->pidfd like that step does, so create_persist and create_undo work
 * unchanged. */
int vm_create_drive(struct create_job *j, const struct husk_opts *o, const struct create_opts *c,
		    husk_error **err);

/* `husk exec` into a VM container, in two halves so that the state lock is
 * not held while the process runs: start (with c loaded and locked) returns
 * once the guest runs the process, or fails with the guest's error;
 * process is the base process object (config.json's, or --process's), p
 * the process with exec's flags applied (its fields win). With
 * eo->detach, a relay process is left to wait (see above) and *x needs no
 * wait. */
struct vm_exec {
	int sock;           /* to the monitor, -1 when detached */
	int console_master; /* foreground --tty without a console socket, else -1 */
};

int vm_exec_start(struct container *c, struct json_object *process, const struct spec_process *p,
		  const struct exec_opts *eo, struct vm_exec *x, husk_error **err);
/* Forwards our signals, waits: the exit status as runc's exec gives it. */
int vm_exec_wait(struct vm_exec *x);

#endif
