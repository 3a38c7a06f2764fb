/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mount_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "../base/cleanup.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

enum opt_kind {
	OPT_SET,       /* MS_* flag on */
	OPT_CLEAR,     /* MS_* flag off */
	OPT_PROPAGATE, /* one propagation change */
	OPT_REC_SET,   /* MOUNT_ATTR_* on, recursively */
	OPT_REC_CLEAR, /* MOUNT_ATTR_* off, recursively */
	OPT_COPYUP,
	OPT_IDMAP, /* idmapped bind mount (rootfs/idmap.c); value: recursive */
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	unsigned long value;
};

/* runc's table (libcontainer/specconv), so configs mean the same thing. */
static const struct opt_def opt_table[] = {
	{ "defaults", OPT_SET, 0 },
	{ "ro", OPT_SET, MS_RDONLY },
	{ "rw", OPT_CLEAR, MS_RDONLY },
	{ "nosuid", OPT_SET, MS_NOSUID },
	{ "suid", OPT_CLEAR, MS_NOSUID },
	{ "nodev", OPT_SET, MS_NODEV },
	{ "dev", OPT_CLEAR, MS_NODEV },
	{ "noexec", OPT_SET, MS_NOEXEC },
	{ "exec", OPT_CLEAR, MS_NOEXEC },
	{ "sync", OPT_SET, MS_SYNCHRONOUS },
	{ "async", OPT_CLEAR, MS_SYNCHRONOUS },
	{ "dirsync", OPT_SET, MS_DIRSYNC },
	{ "remount", OPT_SET, MS_REMOUNT },
	{ "mand", OPT_SET, MS_MANDLOCK },
	{ "nomand", OPT_CLEAR, MS_MANDLOCK },
	{ "noatime", OPT_SET, MS_NOATIME },
	{ "atime", OPT_CLEAR, MS_NOATIME },
	{ "nodiratime", OPT_SET, MS_NODIRATIME },
	{ "diratime", OPT_CLEAR, MS_NODIRATIME },
	{ "relatime", OPT_SET, MS_RELATIME },
	{ "norelatime", OPT_CLEAR, MS_RELATIME },
	{ "strictatime", OPT_SET, MS_STRICTATIME },
	{ "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
	{ "nosymfollow", OPT_SET, MS_NOSYMFOLLOW },
	{ "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
	{ "lazytime", OPT_SET, MS_LAZYTIME },
	{ "nolazytime", OPT_CLEAR, MS_LAZYTIME },
	{ "iversion", OPT_SET, MS_I_VERSION },
	{ "noiversion", OPT_CLEAR, MS_I_VERSION },
	{ "silent", OPT_SET, MS_SILENT },
	{ "loud", OPT_CLEAR, MS_SILENT },
	{ "bind", OPT_SET, MS_BIND },
	{ "rbind", OPT_SET, MS_BIND | MS_REC },
	{ "private", OPT_PROPAGATE, MS_PRIVATE },
	{ "rprivate", OPT_PROPAGATE, MS_PRIVATE | MS_REC },
	{ "shared", OPT_PROPAGATE, MS_SHARED },
	{ "rshared", OPT_PROPAGATE, MS_SHARED | MS_REC },
	{ "slave", OPT_PROPAGATE, MS_SLAVE },
	{ "rslave", OPT_PROPAGATE, MS_SLAVE | MS_REC },
	{ "unbindable", OPT_PROPAGATE, MS_UNBINDABLE },
	{ "runbindable", OPT_PROPAGATE, MS_UNBINDABLE | MS_REC },
	{ "rro", OPT_REC_SET, MOUNT_ATTR_RDONLY },
	{ "rrw", OPT_REC_CLEAR, MOUNT_ATTR_RDONLY },
	{ "rnosuid", OPT_REC_SET, MOUNT_ATTR_NOSUID },
	{ "rsuid", OPT_REC_CLEAR, MOUNT_ATTR_NOSUID },
	{ "rnodev", OPT_REC_SET, MOUNT_ATTR_NODEV },
	{ "rdev", OPT_REC_CLEAR, MOUNT_ATTR_NODEV },
	{ "rnoexec", OPT_REC_SET, MOUNT_ATTR_NOEXEC },
	{ "rexec", OPT_REC_CLEAR, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", OPT_REC_SET, MOUNT_ATTR_NODIRATIME },
	{ "rdiratime", OPT_REC_CLEAR, MOUNT_ATTR_NODIRATIME },
	{ "rrelatime", OPT_REC_SET, MOUNT_ATTR_RELATIME },
	{ "rnorelatime", OPT_REC_CLEAR, MOUNT_ATTR_RELATIME },
	{ "rnoatime", OPT_REC_SET, MOUNT_ATTR_NOATIME },
	{ "ratime", OPT_REC_CLEAR, MOUNT_ATTR_NOATIME },
	{ "rstrictatime", OPT_REC_SET, MOUNT_ATTR_STRICTATIME },
	{ "rnostrictatime", OPT_REC_CLEAR, MOUNT_ATTR_STRICTATIME },
	{ "rnosymfollow", OPT_REC_SET, MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow", OPT_REC_CLEAR, MOUNT_ATTR_NOSYMFOLLOW },
	{ "tmpcopyup", OPT_COPYUP, 0 },
	{ "idmap", OPT_IDMAP, 0 },
	{ "ridmap", OPT_IDMAP, 1 },
};

static const struct opt_def *opt_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (strcmp(opt_table[i].name, name) == 0)
			return &opt_table[i];
	return NULL;
}

static void apply_rec(struct mount_opts *o, const struct opt_def *d)
{
	uint64_t v = d->value;

	o->rec_attr = true;
	if (d->kind == OPT_REC_CLEAR) {
		o->attr_clr |= v;
		o->attr_set &= ~v;
		return;
	}
	/* The atime modes are one field, not flags: a later one replaces an
	 * earlier one, and mount_setattr(2) wants MOUNT_ATTR__ATIME in
	 * attr_clr whenever attr_set carries a mode (relatime is 0). */
	if ((v & MOUNT_ATTR__ATIME) == v) {
		o->attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
		o->attr_clr |= MOUNT_ATTR__ATIME;
	}
	o->attr_set |= v;
	o->attr_clr &= ~v | MOUNT_ATTR__ATIME;
}

static int append_data(struct mount_opts *o, const char *opt)
{
	size_t old = o->data ? strlen(o->data) : 0;
	size_t add = strlen(opt);
	char *p = realloc(o->data, old + add + 2);

	if (!p)
		return -1;
	if (old)
		p[old++] = ',';
	memcpy(p + old, opt, add + 1);
	o->data = p;
	return 0;
}

static int apply_one(struct mount_opts *o, const char *opt, husk_error **err)
{
	const struct opt_def *d = opt_lookup(opt);

	if (!d)
		return append_data(o, opt) < 0 ? husk_fail(err, ENOMEM, "mount options") : 0;
	switch (d->kind) {
	case OPT_SET:
		o->flags |= d->value;
		o->cleared &= ~d->value;
		break;
	case OPT_CLEAR:
		o->flags &= ~d->value;
		o->cleared |= d->value;
		break;
	case OPT_PROPAGATE:
		if (o->n_propagation >= MOUNT_OPTS_MAX_PROPAGATION)
			return husk_fail(err, 0, "too many propagation options (at most %d)",
					 MOUNT_OPTS_MAX_PROPAGATION);
		o->propagation[o->n_propagation++] = d->value;
		break;
	case OPT_REC_SET:
	case OPT_REC_CLEAR:
		apply_rec(o, d);
		break;
	case OPT_COPYUP:
		o->tmpcopyup = true;
		break;
	case OPT_IDMAP:
		/* "ridmap" wins over "idmap" whatever the order: asking for
		 * the whole tree mapped includes its top. */
		o->idmap = true;
		o->ridmap |= d->value != 0;
		break;
	}
	return 0;
}

int mount_options_parse(const char **opts, size_t n, struct mount_opts *out,
			husk_error **err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		/* An empty string asks for nothing; don't turn it into ",,". */
		if (!opts[i] || !opts[i][0])
			continue;
		if (apply_one(out, opts[i], err) < 0)
			return -1;
	}
	return 0;
}

void mount_opts_done(struct mount_opts *o)
{
	free(o->data);
	o->data = NULL;
}

bool mount_opts_is_bind(const char *type, const struct mount_opts *o)
{
	return (o->flags & MS_BIND) || (type && strcmp(type, "bind") == 0);
}

int mount_propagation_parse(const char *name, unsigned long *flags)
{
	*flags = 0;
	if (!name || !name[0])
		return 0;
	const struct opt_def *d = opt_lookup(name);
	if (!d || d->kind != OPT_PROPAGATE)
		return -1;
	*flags = d->value;
	return 0;
}

unsigned long mount_flags_from_statvfs(unsigned long f_flag)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_RDONLY, MS_RDONLY },	  { ST_NOSUID, MS_NOSUID },
		{ ST_NODEV, MS_NODEV },		  { ST_NOEXEC, MS_NOEXEC },
		{ ST_SYNCHRONOUS, MS_SYNCHRONOUS }, { ST_MANDLOCK, MS_MANDLOCK },
		{ ST_NOATIME, MS_NOATIME },	  { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },	  { ST_NOSYMFOLLOW, MS_NOSYMFOLLOW },
	};
	unsigned long ms = 0;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (f_flag & map[i].st)
			ms |= map[i].ms;
	/* strictatime is the absence of the other two: statvfs has no bit. */
	if (!(ms & (MS_NOATIME | MS_RELATIME)))
		ms |= MS_STRICTATIME;
	return ms;
}

uint64_t mount_attr_from_flags(unsigned long ms)
{
	uint64_t a = 0;

	if (ms & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (ms & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (ms & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (ms & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (ms & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (ms & MS_NOSYMFOLLOW)
		a |= MOUNT_ATTR_NOSYMFOLLOW;
	/* Same precedence as mount(2): strictatime, then noatime, else relatime. */
	if (ms & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	else if (ms & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	return a;
}
