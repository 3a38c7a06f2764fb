/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CREATE: config.json parsed by husk's own parser, the rootfs and the
 * shares mounted over 9p, bind sources pointed at the shares, and the same
 * checks `husk create` makes before it clones the container's init.
 */
#include "agent.h"

#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../../base/cleanup.h"
#include "../../base/json.h"
#include "../../rootfs/mount_options.h"
#include "../../rootfs/rootfs.h"
#include "../../runtime/caps.h"
#include "../../runtime/namespaces.h"
#include "../../runtime/process_start.h"
#include "../../runtime/seccomp.h"
#include "../proto.h"

#define P9_OPTS "trans=virtio,version=9p2000.L,msize=262144"

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

static int mount_tag(const char *tag, const char *dir, bool readonly, husk_error **err)
{
	if (mount(tag, dir, "9p", MS_NOSUID | MS_NODEV | (readonly ? MS_RDONLY : 0), P9_OPTS) < 0)
		return husk_fail(err, errno, "mount 9p tag `%s` on %s", tag, dir);
	return 0;
}

/* The share a host path lies in: the longest share source that is the path
 * or one of its parent directories. */
static struct json_object *share_of(struct json_object *shares, const char *path, size_t *rest)
{
	struct json_object *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < json_object_array_length(shares); i++) {
		struct json_object *sh = json_object_array_get_idx(shares, i);
		const char *src = json_get_string(sh, "source");
		size_t n = src ? strlen(src) : 0;
		while (n > 1 && src[n - 1] == '/')
			n--;
		if (!n || strncmp(path, src, n) != 0)
			continue;
		if (n > 1 && path[n] != '/' && path[n] != '\0')
			continue; /* "/a/bc" is not under "/a/b" */
		if (!best || n > best_len) {
			best = sh;
			best_len = n;
		}
	}
	*rest = best_len == 1 ? 0 : best_len; /* a share of "/" keeps the leading '/' */
	return best;
}

static bool is_bind(const struct spec_mount *m)
{
	struct mount_opts o;
	bool bind = mount_options_parse(m->options, m->n_options, &o, NULL) == 0 &&
		    mount_opts_is_bind(m->type, &o);
	mount_opts_done(&o);
	return bind;
}

/* Points mounts[i].source of a bind of a shared host path at the share's
 * staging directory. The new string lives in s->json, like the rest. */
static int rewrite_sources(struct spec *s, struct json_object *shares, husk_error **err)
{
	struct json_object *mounts = json_get(s->json, "mounts");

	for (size_t i = 0; i < s->n_mounts; i++) {
		struct spec_mount *m = &s->mounts[i];
		size_t rest;
		if (!m->source || m->source[0] != '/' || !is_bind(m))
			continue;
		struct json_object *sh = share_of(shares, m->source, &rest);
		if (!sh)
			continue;
		_cleanup_free_ char *staged = NULL;
		if (asprintf(&staged, AGENT_SHARES "/%s%s", json_get_string(sh, "tag"),
			     m->source + rest) < 0)
			return husk_fail(err, ENOMEM, "mounts[%zu].source", i);
		struct json_object *entry = json_object_array_get_idx(mounts, i);
		struct json_object *str = json_object_new_string(staged);
		if (!entry || !str || json_object_object_add(entry, "source", str) < 0)
			return husk_fail(err, ENOMEM, "mounts[%zu].source", i);
		m->source = json_object_get_string(str);
	}
	return 0;
}

static int mount_shares(struct spec *s, struct json_object *shares, husk_error **err)
{
	if (!shares)
		return 0;
	if (!json_object_is_type(shares, json_type_array))
		return husk_fail(err, 0, "CREATE: shares: must be an array");
	for (size_t i = 0; i < json_object_array_length(shares); i++) {
		struct json_object *sh = json_object_array_get_idx(shares, i);
		const char *tag = json_get_string(sh, "tag"), *src = json_get_string(sh, "source");
		char dir[512];
		if (!tag || !*tag || strchr(tag, '/') || !strcmp(tag, ".") || !strcmp(tag, ".."))
			return husk_fail(err, 0, "CREATE: shares[%zu].tag: must be a plain name", i);
		if (!src || src[0] != '/')
			return husk_fail(err, 0, "CREATE: shares[%zu].source: must be an absolute path", i);
		snprintf(dir, sizeof(dir), AGENT_SHARES "/%s", tag);
		if (mkdir(dir, 0700) < 0)
			return husk_fail(err, errno, "CREATE: shares[%zu]: mkdir %s", i, dir);
		if (mount_tag(tag, dir, false, err) < 0)
			return husk_error_wrap(err, "CREATE: shares[%zu]", i);
	}
	return rewrite_sources(s, shares, err);
}

/* The namespaces the guest makes for the container (see agent.h). */
static int plan_namespaces(struct agent *a, husk_error **err)
{
	const struct spec_linux *l = a->spec->linux_;
	const int made = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;

	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct spec_namespace *ns = &l->namespaces[i];
		if (!(ns->type & made))
			continue;
		if (ns->path)
			return husk_fail(err, 0, "config.json: linux.namespaces[%zu].path: "
					 "a micro-VM cannot join the host's %s namespace",
					 i, spec_namespace_name(ns->type));
		a->ns_flags |= ns->type;
	}
	return 0;
}

/* What runtime/create.c checks before it clones the init, and what the
 * guest cannot do: host namespaces, hooks in the container, listeners. */
static int validate(struct agent *a, husk_error **err)
{
	const struct spec *s = a->spec;

	if (spec_validate_runnable(s, err) < 0)
		return -1;
	if (s->hooks.n[SPEC_HOOK_CREATE_CONTAINER] || s->hooks.n[SPEC_HOOK_START_CONTAINER])
		return husk_fail(err, 0, "config.json: hooks.%s: hooks in the container's namespaces "
				 "are not supported in a micro-VM",
				 s->hooks.n[SPEC_HOOK_CREATE_CONTAINER] ? "createContainer" : "startContainer");
	if (s->linux_->seccomp && s->linux_->seccomp->listener_path)
		return husk_fail(err, 0, "config.json: linux.seccomp.listenerPath: not supported in a micro-VM");
	if (plan_namespaces(a, err) < 0 || ns_validate(s, err) < 0 ||
	    rootfs_validate(s, AGENT_ROOTFS, err) < 0 || process_validate_lsm(s->process, err) < 0)
		return -1;
	husk_error *warning = NULL;
	if (caps_validate(s->process->capabilities, &warning) < 0) {
		agent_warn("%s: ignored", warning->msg);
		husk_error_free(&warning);
	}
	if (s->linux_->seccomp && !(a->seccomp = seccomp_build(s->linux_->seccomp, err)))
		return -1;
	return 0;
}

int agent_create_prepare(struct agent *a, const char *text, size_t len, husk_error **err)
{
	_cleanup_(json_putp) struct json_object *req = json_tokener_parse(text);
	struct json_object *config = json_get(req, "config");
	const char *tag = json_get_string(req, "rootfs");

	(void)len;
	if (!req || !json_object_is_type(req, json_type_object))
		return husk_fail(err, 0, "CREATE: not a JSON object");
	if (!config || !json_object_is_type(config, json_type_object))
		return husk_fail(err, 0, "CREATE: config: must be an object");
	const char *json = json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN);
	a->spec = spec_parse(json, strlen(json), err);
	if (!a->spec)
		return -1;
	agent_log(a, "config parsed");
	/* Read-write even for root.readonly, as on a host: missing mount
	 * points and cwd are made first, rootfs_finalize() makes "/"
	 * read-only last. */
	if (mount_tag(tag ? tag : VM_ROOTFS_TAG, AGENT_ROOTFS, false, err) < 0 ||
	    mount_shares(a->spec, json_get(req, "shares"), err) < 0)
		return -1;
	agent_log(a, "rootfs and shares mounted");
	if (validate(a, err) < 0)
		return -1;
	return agent_net_setup(a, json_get(req, "network"), err);
}
