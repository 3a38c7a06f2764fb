/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The systemd manager's D-Bus calls (sd-bus, system bus): start a
 * transient scope, change its properties, stop it, and wait for the jobs
 * systemd queues for them.
 *
 * libsystemd is dlopen()ed here, on first use: linked, it would load six
 * libraries (libgcrypt, zstd, lz4, ...) into every husk command, which
 * costs more than most of them take to run. */
#include "cgroup_internal.h"
#include "systemd.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "../base/cleanup.h"

#define LIBSYSTEMD "libsystemd.so.0"
#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
/* How long a start or stop job may take. A scope's jobs are quick; the
 * bound is for a systemd that hangs, generous for slow machines. */
#define JOB_TIMEOUT_MS (60ULL * 1000ULL)

/* The sd-bus calls husk makes, typed from sd-bus.h. */
struct sd_fns {
	__typeof__(sd_bus_open_system) *open_system;
	__typeof__(sd_bus_flush_close_unref) *flush_close_unref;
	__typeof__(sd_bus_get_property_string) *get_property_string;
	__typeof__(sd_bus_error_free) *error_free;
	__typeof__(sd_bus_error_is_set) *error_is_set;
	__typeof__(sd_bus_error_has_name) *error_has_name;
	__typeof__(sd_bus_message_new_method_call) *new_method_call;
	__typeof__(sd_bus_message_unref) *message_unref;
	__typeof__(sd_bus_message_open_container) *open_container;
	__typeof__(sd_bus_message_close_container) *close_container;
	__typeof__(sd_bus_message_append) *append;
	__typeof__(sd_bus_message_append_array) *append_array;
	__typeof__(sd_bus_message_read) *read;
	__typeof__(sd_bus_call) *call;
	__typeof__(sd_bus_call_method) *call_method;
	__typeof__(sd_bus_match_signal) *match_signal;
	__typeof__(sd_bus_slot_unref) *slot_unref;
	__typeof__(sd_bus_process) *process;
	__typeof__(sd_bus_wait) *wait;
};

static const struct {
	const char *sym;
	size_t off;
} sd_syms[] = {
#define SYM(field, name) { name, offsetof(struct sd_fns, field) }
	SYM(open_system, "sd_bus_open_system"),
	SYM(flush_close_unref, "sd_bus_flush_close_unref"),
	SYM(get_property_string, "sd_bus_get_property_string"),
	SYM(error_free, "sd_bus_error_free"),
	SYM(error_is_set, "sd_bus_error_is_set"),
	SYM(error_has_name, "sd_bus_error_has_name"),
	SYM(new_method_call, "sd_bus_message_new_method_call"),
	SYM(message_unref, "sd_bus_message_unref"),
	SYM(open_container, "sd_bus_message_open_container"),
	SYM(close_container, "sd_bus_message_close_container"),
	SYM(append, "sd_bus_message_append"),
	SYM(append_array, "sd_bus_message_append_array"),
	SYM(read, "sd_bus_message_read"),
	SYM(call, "sd_bus_call"),
	SYM(call_method, "sd_bus_call_method"),
	SYM(match_signal, "sd_bus_match_signal"),
	SYM(slot_unref, "sd_bus_slot_unref"),
	SYM(process, "sd_bus_process"),
	SYM(wait, "sd_bus_wait"),
#undef SYM
};

struct cg_sd_bus {
	void *dl;
	struct sd_fns f;
	sd_bus *bus;
};

/* What one D-Bus call holds, released in one place. */
struct call {
	const struct sd_fns *f;
	sd_bus_error e;
	sd_bus_message *m, *reply;
	sd_bus_slot *slot;
};

static void call_done(struct call *c)
{
	c->f->error_free(&c->e);
	c->f->message_unref(c->m);
	c->f->message_unref(c->reply);
	c->f->slot_unref(c->slot);
}

#define CALL(b) { .f = &(b)->f, .e = SD_BUS_ERROR_NULL }

/* r < 0 from sd-bus, with the D-Bus error when there is one. */
static int bus_fail(husk_error **err, const struct call *c, int r,
		    const char *what, const char *unit)
{
	if (c && c->f->error_is_set(&c->e))
		return husk_fail(err, 0, "systemd cgroup manager: %s %s: %s",
				 what, unit,
				 c->e.message ? c->e.message : c->e.name);
	return husk_fail(err, -r, "systemd cgroup manager: %s %s", what, unit);
}

void cg_sd_bus_close(struct cg_sd_bus *b)
{
	if (!b)
		return;
	if (b->bus)
		b->f.flush_close_unref(b->bus);
	if (b->dl)
		dlclose(b->dl);
	free(b);
}

static int load(struct cg_sd_bus *b, husk_error **err)
{
	b->dl = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);
	if (!b->dl)
		return husk_fail(err, 0, "systemd cgroup manager: cannot load %s: %s",
				 LIBSYSTEMD, dlerror());
	for (size_t i = 0; i < ARRAY_SIZE(sd_syms); i++) {
		void *p = dlsym(b->dl, sd_syms[i].sym);

		if (!p)
			return husk_fail(err, 0, "systemd cgroup manager: %s has no "
						 "%s (libsystemd too old)", LIBSYSTEMD,
					 sd_syms[i].sym);
		memcpy((char *)&b->f + sd_syms[i].off, &p, sizeof(p));
	}
	return 0;
}

/* A bus without systemd (a dbus-daemon in a container) answers the
 * Version query with an error. */
static int connect_systemd(struct cg_sd_bus *b, husk_error **err)
{
	_cleanup_(call_done) struct call c = CALL(b);
	_cleanup_free_ char *version = NULL;
	int r = b->f.open_system(&b->bus);

	if (r < 0)
		return husk_fail(err, -r, "systemd cgroup manager: no systemd on "
					  "the system bus: cannot connect");
	r = b->f.get_property_string(b->bus, SD_DEST, SD_PATH, SD_MANAGER,
				     "Version", &c.e, &version);
	if (r >= 0)
		return 0;
	if (b->f.error_is_set(&c.e))
		return husk_fail(err, 0, "systemd cgroup manager: no systemd on the "
					 "system bus: %s",
				 c.e.message ? c.e.message : c.e.name);
	return husk_fail(err, -r, "systemd cgroup manager: no systemd on the "
				  "system bus");
}

int cg_sd_bus_open(struct cg_sd_bus **out, husk_error **err)
{
	struct cg_sd_bus *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	*out = NULL;
	if (load(b, err) < 0 || connect_systemd(b, err) < 0) {
		cg_sd_bus_close(b);
		return -1;
	}
	*out = b;
	return 0;
}

static int append_value(const struct sd_fns *f, sd_bus_message *m,
			const struct cg_unit_prop *p)
{
	int r = 0;

	switch (p->type) {
	case CG_PROP_U64:
		return f->append(m, "t", p->u);
	case CG_PROP_BOOL:
		return f->append(m, "b", (int)p->u);
	case CG_PROP_STR:
		return f->append(m, "s", p->s);
	case CG_PROP_BYTES:
		return f->append_array(m, 'y', p->bytes, p->n_bytes);
	case CG_PROP_PIDS:
		return f->append(m, "au", 1, (uint32_t)p->u);
	case CG_PROP_DEVICES:
		r = f->open_container(m, 'a', "(ss)");
		for (size_t i = 0; r >= 0 && i < p->n_devs; i++)
			r = f->append(m, "(ss)", p->devs[i].node, p->devs[i].perms);
		return r < 0 ? r : f->close_container(m);
	}
	return -EINVAL;
}

static int append_props(const struct sd_fns *f, sd_bus_message *m,
			const struct cg_unit_props *props)
{
	static const char *const sig[] = {
		[CG_PROP_U64] = "t", [CG_PROP_BOOL] = "b", [CG_PROP_STR] = "s",
		[CG_PROP_BYTES] = "ay", [CG_PROP_DEVICES] = "a(ss)",
		[CG_PROP_PIDS] = "au",
	};
	int r = f->open_container(m, 'a', "(sv)");

	for (size_t i = 0; r >= 0 && i < props->n; i++) {
		const struct cg_unit_prop *p = &props->v[i];

		if ((r = f->open_container(m, 'r', "sv")) < 0 ||
		    (r = f->append(m, "s", p->name)) < 0 ||
		    (r = f->open_container(m, 'v', sig[p->type])) < 0 ||
		    (r = append_value(f, m, p)) < 0 ||
		    (r = f->close_container(m)) < 0)
			break;
		r = f->close_container(m);
	}
	return r < 0 ? r : f->close_container(m);
}

/* JobRemoved signals seen so far: the one for our job may come before
 * the reply that names the job. */
struct jobs_seen {
	const struct sd_fns *f;
	char **paths;
	char **results;
	size_t n;
};

static void jobs_seen_free(struct jobs_seen *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->paths[i]);
		free(s->results[i]);
	}
	free(s->paths);
	free(s->results);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct jobs_seen *s = userdata;
	const char *path, *unit, *result;
	char **np, **nr;
	uint32_t id;

	if (s->f->read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	np = reallocarray(s->paths, s->n + 1, sizeof(*np));
	if (np)
		s->paths = np;
	nr = reallocarray(s->results, s->n + 1, sizeof(*nr));
	if (nr)
		s->results = nr;
	if (!np || !nr)
		abort();
	s->paths[s->n] = strdup(path);
	s->results[s->n] = strdup(result);
	if (!s->paths[s->n] || !s->results[s->n])
		abort();
	s->n++;
	return 0;
}

static const char *job_result(const struct jobs_seen *s, const char *job)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->paths[i], job) == 0)
			return s->results[i];
	return NULL;
}

static int wait_job(struct cg_sd_bus *b, const struct jobs_seen *seen,
		    const char *job, const char *what, const char *unit,
		    husk_error **err)
{
	uint64_t deadline = cg_now_ms() + JOB_TIMEOUT_MS;
	const char *result;

	while (!(result = job_result(seen, job))) {
		uint64_t now;
		int r = b->f.process(b->bus, NULL);

		if (r < 0)
			return bus_fail(err, NULL, r, what, unit);
		if (r > 0)
			continue;
		now = cg_now_ms();
		if (now >= deadline)
			return husk_fail(err, ETIMEDOUT, "systemd cgroup manager: "
							 "%s %s: job %s not done "
							 "after %llu s", what, unit,
					 job, JOB_TIMEOUT_MS / 1000ULL);
		r = b->f.wait(b->bus, (deadline - now) * 1000);
		if (r < 0 && r != -EINTR)
			return bus_fail(err, NULL, r, what, unit);
	}
	if (strcmp(result, "done") != 0)
		return husk_fail(err, 0, "systemd cgroup manager: %s %s: job %s",
				 what, unit, result);
	return 0;
}

/* Sends c->m, a method call that queues a job, and waits for that job.
 * The match is in place before the call. Returns 1 when systemd does not
 * know the unit; *called says whether the call itself succeeded. */
static int call_and_wait(struct cg_sd_bus *b, struct call *c, const char *what,
			 const char *unit, bool *called, husk_error **err)
{
	_cleanup_(jobs_seen_free) struct jobs_seen seen = { .f = &b->f };
	const char *job;
	int r;

	*called = false;
	r = b->f.match_signal(b->bus, &c->slot, SD_DEST, SD_PATH, SD_MANAGER,
			      "JobRemoved", on_job_removed, &seen);
	if (r < 0)
		return bus_fail(err, NULL, r, "watch jobs for", unit);
	r = b->f.call(b->bus, c->m, 0, &c->e, &c->reply);
	if (r < 0) {
		r = b->f.error_has_name(&c->e, "org.freedesktop.systemd1.NoSuchUnit")
			    ? 1 : bus_fail(err, c, r, what, unit);
	} else {
		*called = true;
		r = b->f.read(c->reply, "o", &job);
		r = r < 0 ? bus_fail(err, NULL, r, what, unit)
			  : wait_job(b, &seen, job, what, unit, err);
	}
	/* seen goes before the slot that points at it */
	c->f->slot_unref(c->slot);
	c->slot = NULL;
	return r;
}

int cg_sd_start_unit(struct cg_sd_bus *b, const char *unit,
		     const struct cg_unit_props *props, bool *queued,
		     husk_error **err)
{
	_cleanup_(call_done) struct call c = CALL(b);
	int r;

	*queued = false;
	if ((r = b->f.new_method_call(b->bus, &c.m, SD_DEST, SD_PATH, SD_MANAGER,
				      "StartTransientUnit")) < 0 ||
	    (r = b->f.append(c.m, "ss", unit, "fail")) < 0 ||
	    (r = append_props(&b->f, c.m, props)) < 0 ||
	    (r = b->f.append(c.m, "a(sa(sv))", 0)) < 0)
		return bus_fail(err, NULL, r, "start", unit);
	r = call_and_wait(b, &c, "start", unit, queued, err);
	return r > 0 ? bus_fail(err, NULL, -ENOENT, "start", unit) : r;
}

int cg_sd_set_props(struct cg_sd_bus *b, const char *unit,
		    const struct cg_unit_props *props, husk_error **err)
{
	_cleanup_(call_done) struct call c = CALL(b);
	int r;

	if (props->n == 0)
		return 0;
	if ((r = b->f.new_method_call(b->bus, &c.m, SD_DEST, SD_PATH, SD_MANAGER,
				      "SetUnitProperties")) < 0 ||
	    (r = b->f.append(c.m, "sb", unit, 1)) < 0 ||
	    (r = append_props(&b->f, c.m, props)) < 0)
		return bus_fail(err, NULL, r, "set properties of", unit);
	r = b->f.call(b->bus, c.m, 0, &c.e, &c.reply);
	if (r < 0)
		return bus_fail(err, &c, r, "set properties of", unit);
	return 0;
}

int cg_sd_stop_unit(struct cg_sd_bus *b, const char *unit, husk_error **err)
{
	_cleanup_(call_done) struct call c = CALL(b);
	_cleanup_(call_done) struct call reset = CALL(b);
	bool called;
	int r;

	if ((r = b->f.new_method_call(b->bus, &c.m, SD_DEST, SD_PATH, SD_MANAGER,
				      "StopUnit")) < 0 ||
	    (r = b->f.append(c.m, "ss", unit, "replace")) < 0)
		return bus_fail(err, NULL, r, "stop", unit);
	if (call_and_wait(b, &c, "stop", unit, &called, err) < 0)
		return -1;
	/* A failed scope stays loaded, and its name taken, until reset. */
	b->f.call_method(b->bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit",
			 &reset.e, &reset.reply, "s", unit);
	return 0;
}
