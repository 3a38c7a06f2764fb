/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Frames of the monitor-agent protocol (vm/proto.h). */
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/io.h"

static const char *const names[] = {
	[VM_READY] = "READY",   [VM_CREATE] = "CREATE", [VM_CREATED] = "CREATED",
	[VM_START] = "START",   [VM_STARTED] = "STARTED", [VM_EXEC] = "EXEC",
	[VM_STDIN] = "STDIN",   [VM_STDOUT] = "STDOUT", [VM_STDERR] = "STDERR",
	[VM_SIGNAL] = "SIGNAL", [VM_RESIZE] = "RESIZE", [VM_EXIT] = "EXIT",
	[VM_ERROR] = "ERROR",
};

const char *vm_msg_name(uint16_t type)
{
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}


/* 1 when all read, 0 on EOF at the very start, -1 otherwise. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EPIPE;
			return got ? -1 : 0;
		}
		got += (size_t)n;
	}
	return 1;
}

int vm_send(int fd, uint16_t type, uint16_t proc, const void *data, size_t len,
	    husk_error **err)
{
	if (len > VM_MAX_PAYLOAD)
		return husk_fail(err, EMSGSIZE, "vm: %s frame of %zu bytes", vm_msg_name(type), len);
	struct vm_hdr h = { .len = (uint32_t)len, .type = type, .proc = proc };
	if (io_write_all(fd, &h, sizeof(h)) < 0 || (len && io_write_all(fd, data, len) < 0))
		return husk_fail(err, errno, "vm: send %s", vm_msg_name(type));
	return 0;
}

int vm_send_u32(int fd, uint16_t type, uint16_t proc, uint32_t value, husk_error **err)
{
	return vm_send(fd, type, proc, &value, sizeof(value), err);
}

int vm_recv(int fd, struct vm_frame *f, husk_error **err)
{
	f->data = NULL;
	int r = read_all(fd, &f->hdr, sizeof(f->hdr));
	if (r == 0)
		return 0;
	if (r < 0)
		return husk_fail(err, errno, "vm: receive frame header");
	if (f->hdr.len > VM_MAX_PAYLOAD)
		return husk_fail(err, EMSGSIZE, "vm: %s frame of %u bytes",
				 vm_msg_name(f->hdr.type), f->hdr.len);
	f->data = malloc((size_t)f->hdr.len + 1);
	if (!f->data)
		return husk_fail(err, ENOMEM, "vm: receive frame");
	if (f->hdr.len && read_all(fd, f->data, f->hdr.len) != 1) {
		vm_frame_clear(f);
		return husk_fail(err, errno ? errno : EPIPE, "vm: receive %s payload",
				 vm_msg_name(f->hdr.type));
	}
	f->data[f->hdr.len] = '\0';
	return 1;
}

int vm_frame_u32(const struct vm_frame *f, uint32_t *out)
{
	if (f->hdr.len != sizeof(*out))
		return -1;
	memcpy(out, f->data, sizeof(*out));
	return 0;
}

void vm_frame_clear(struct vm_frame *f)
{
	free(f->data);
	f->data = NULL;
}
