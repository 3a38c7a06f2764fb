/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one protocol between husk's VM monitor (host, vm/monitor.c) and its
 * guest agent (PID 1 in the guest, vm/agent/): framed messages over the
 * virtio-serial port named "ctl", which QEMU connects to a unix socket the
 * monitor listens on.
 *
 * Frame: an 8-byte header, then len bytes of payload.
 *
 *     struct vm_hdr { uint32_t len; uint16_t type; uint16_t proc; }
 *
 * Little-endian (host and guest are the same x86_64). proc names the
 * process a frame is about: 0 is the container's process (process in
 * config.json), 1..65535 are exec'd processes, numbered by the monitor.
 *
 * Conversation (g = guest agent, h = host monitor):
 *
 *   g→h READY     payload: the guest's `uname -r`. Sent once the port
 *                 exists; the host sends nothing before it (without that
 *                 handshake virtio-serial loses the first bytes).
 *   h→g CREATE    payload: JSON {"config": <config.json object>,
 *                 "rootfs": "rootfs" (9p mount tag of root.path),
 *                 "shares": [{"tag": "s1", "source": "/host/dir"}, ...],
 *                 "terminal": bool}. Bind mounts whose source is a host
 *                 path: the host shares each source directory (or a
 *                 file's parent directory) under its own tag, and the
 *                 agent mounts the tag where the source is named. A
 *                 share's "source" is the directory the tag exports: a
 *                 bind source at or below it (the longest match wins)
 *                 is mounted from the tag; others stay guest paths.
 *                 Bind sources must be absolute (the guest has no
 *                 bundle directory).
 *                 With --network (netns/netns.h), also "network":
 *                 {"mac": "0a:58:0a:58:00:02", "mtu": 1500,
 *                  "ipv4": "10.88.0.2/16", "gateway4": "10.88.0.1",
 *                  "ipv6": "fd00::2/64", "gateway6": "fd00::1"}
 *                 (a family's two keys only when the bridge serves it):
 *                 the agent gives the virtio-net interface with that MAC
 *                 the MTU, the addresses and default routes via the
 *                 gateways, and brings it up. The container's processes
 *                 use the guest's own network stack (no network namespace
 *                 is made in the guest). lo is up in every guest.
 *   g→h CREATED   (proc 0) the process is made and waits for START, as a
 *                 container's init waits after `create`.
 *   h→g START     (proc 0) exec the user process.
 *   g→h STARTED   (proc N) process N runs its user program (exec done).
 *   h→g EXEC      (proc N, N >= 1) payload: a process object as in
 *                 config.json's "process"; answered STARTED or ERROR.
 *   h→g STDIN     (proc N) bytes for its stdin; len 0 closes it.
 *   g→h STDOUT    (proc N) bytes it wrote; len 0: its stdout closed.
 *   g→h STDERR    (proc N) likewise for stderr. With a terminal, all
 *                 output comes as STDOUT.
 *   h→g SIGNAL    (proc N) payload: uint32 signal number.
 *   h→g RESIZE    (proc N) payload: uint16 rows, uint16 cols.
 *   g→h EXIT      (proc N) payload: uint32 wait status (as waitpid's). For
 *                 proc 0 the agent then kills what is left and waits for
 *                 the host to close the channel (below).
 *   g→h ERROR     (proc N) payload: message text, no NUL, without the
 *                 step's name (it answers CREATE, START or EXEC), as husk
 *                 words its errors ("config.json: process.cwd: ...").
 *                 For proc 0 the agent then waits as after EXIT.
 *
 * Ordering: all STDOUT/STDERR frames of a process come before its EXIT.
 *
 * The end: a guest's write to the port returns before QEMU has passed the
 * bytes on, so a guest powering off right after EXIT could lose its last
 * frames. After EXIT or ERROR for proc 0 the host closes the channel (or
 * kills QEMU) once it has read them; the agent powers off when it sees
 * the channel close, or 10 s after that last frame. The agent powers off
 * at once whenever the channel closes.
 */
#ifndef HUSK_VM_PROTO_H
#define HUSK_VM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../base/error.h"

#define VM_PORT_NAME "ctl"
#define VM_ROOTFS_TAG "rootfs"
#define VM_MAX_PAYLOAD (1u << 20)

enum vm_msg {
	VM_READY = 1,
	VM_CREATE,
	VM_CREATED,
	VM_START,
	VM_STARTED,
	VM_EXEC,
	VM_STDIN,
	VM_STDOUT,
	VM_STDERR,
	VM_SIGNAL,
	VM_RESIZE,
	VM_EXIT,
	VM_ERROR,
};

struct vm_hdr {
	uint32_t len;
	uint16_t type;
	uint16_t proc;
};

struct vm_frame {
	struct vm_hdr hdr;
	char *data; /* len bytes plus a NUL (so text payloads are strings); heap */
};

const char *vm_msg_name(uint16_t type);

/* Writes one whole frame (retrying short writes and EINTR). */
int vm_send(int fd, uint16_t type, uint16_t proc, const void *data, size_t len,
	    husk_error **err);
int vm_send_u32(int fd, uint16_t type, uint16_t proc, uint32_t value, husk_error **err);

/* Reads one whole frame, blocking. Returns 1, 0 on EOF before a header,
 * -1 on error (a short frame or a payload over VM_MAX_PAYLOAD is one). */
int vm_recv(int fd, struct vm_frame *f, husk_error **err);

/* The uint32 payload of SIGNAL/EXIT; -1 when the length is wrong. */
int vm_frame_u32(const struct vm_frame *f, uint32_t *out);

void vm_frame_clear(struct vm_frame *f);

#endif
