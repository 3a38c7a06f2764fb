/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small I/O helpers every module needs the same way. */
#ifndef HUSK_BASE_IO_H
#define HUSK_BASE_IO_H

#include <stddef.h>

/* Writes all len bytes, retrying short writes and EINTR. Returns 0, or -1
 * with errno set (EIO when write() returned 0). */
int io_write_all(int fd, const void *buf, size_t len);

#endif
