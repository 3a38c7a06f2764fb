/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `create` in VM mode: choose it, refuse what it cannot do, plan the
 * machine, fork the monitor where a container's init would be cloned, and
 * drive it to ready (vm/vm.h). */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "../base/cleanup.h"
#include "../base/json.h"
#include "../cgroups/cgroup.h"
#include "../netns/netns.h"
#include "../rootfs/overlay.h"
#include "../runtime/console.h"
#include "../runtime/create_internal.h"
#include "../runtime/hooks.h"
#include "../runtime/log.h"
#include "../runtime/proc.h"
#include "../runtime/sync.h"
#include "boot.h"
#include "host.h"

#define AGENT_NAME "husk-agent"
#define DEFAULT_CACHE "/var/cache/husk/vm"

bool vm_selected(const struct husk_opts *o, const struct create_opts *c, const struct spec *s)
{
	if (c->vm)
		return true;
	const char *base = o->argv0 ? strrchr(o->argv0, '/') : NULL;
	base = base ? base + 1 : o->argv0;
	if (base && !strcmp(base, VM_ARGV0))
		return true;
	const char *a = spec_annotation(s, VM_ANNOTATION);
	return a && !strcmp(a, "true");
}

int vm_validate(const struct spec *s, const struct create_opts *c, husk_error **err)
{
	if (overlay_requested(s, c->rootfs_overlay))
		return husk_fail(err, 0, "--rootfs-overlay: not supported in VM mode yet");
	if (c->preserve_fds)
		return husk_fail(err, 0, "--preserve-fds: host fds cannot reach a VM");
	for (size_t i = 0; i < s->linux_->n_namespaces; i++)
		if (s->linux_->namespaces[i].path)
			return husk_fail(err, 0, "config.json: linux.namespaces[%zu].path: a VM cannot join a host namespace", i);
	for (size_t i = 0; i < s->n_mounts; i++)
		if (s->mounts[i].n_uid_mappings || s->mounts[i].n_gid_mappings)
			return husk_fail(err, 0, "config.json: mounts[%zu]: idmapped mounts are not supported in VM mode", i);
	if (s->linux_->seccomp && s->linux_->seccomp->listener_path)
		return husk_fail(err, 0, "config.json: linux.seccomp.listenerPath: not supported in VM mode");
	return 0;
}

/* ---- the plan -------------------------------------------------------- */

struct vm_plan {
	struct vm_boot boot;
	char *qemu;
	char *agent;
	char *state_dir;
	struct vm_share shares[32];
	size_t n_shares;
	struct json_object *create; /* the CREATE payload */
	struct netns_guest net;     /* net.tap_fd -1: no network */
};

static void vm_plan_clear(struct vm_plan *p)
{
	vm_boot_clear(&p->boot);
	free(p->qemu);
	free(p->agent);
	free(p->state_dir);
	for (size_t i = 0; i < p->n_shares; i++)
		free(p->shares[i].source);
	json_object_put(p->create);
	if (p->net.tap_fd >= 0)
		close(p->net.tap_fd);
}

static char *agent_path(husk_error **err)
{
	const char *env = getenv("HUSK_AGENT");
	char self[PATH_MAX], *out = NULL;
	if (env && *env)
		out = strdup(env);
	else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			husk_fail(err, errno, "vm: find %s: readlink /proc/self/exe", AGENT_NAME);
			return NULL;
		}
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		*(slash ? slash + 1 : self) = '\0';
		if (asprintf(&out, "%s%s", self, AGENT_NAME) < 0)
			out = NULL;
	}
	if (out && access(out, R_OK) < 0) {
		husk_fail(err, errno, "vm: guest agent %s (set HUSK_AGENT)", out);
		free(out);
		return NULL;
	}
	return out;
}

static int plan_boot(struct vm_plan *p, const struct create_job *j, const struct create_opts *c,
		     husk_error **err)
{
	const char *kernel = c->vm_kernel;
	if (!kernel)
		kernel = spec_annotation(j->spec, VM_ANNOTATION_KERNEL);
	if (!kernel || !*kernel)
		kernel = getenv("HUSK_VM_KERNEL");
	const char *cache = getenv("HUSK_VM_CACHE");
	p->agent = agent_path(err);
	if (!p->agent)
		return -1;
	const struct vm_boot_opts bo = {
		.kernel = kernel && *kernel ? kernel : NULL, .agent = p->agent,
		.cache_dir = cache && *cache ? cache : DEFAULT_CACHE,
		.net = p->net.tap_fd >= 0,
	};
	if (vm_boot_prepare(&bo, &p->boot, err) < 0)
		return husk_error_wrap(err, "vm");
	return vm_find_qemu(&p->qemu, err);
}

static bool has_option(struct json_object *m, const char *a, const char *b)
{
	struct json_object *opts = json_get(m, "options");
	for (size_t i = 0; opts && json_object_is_type(opts, json_type_array) &&
			   i < json_object_array_length(opts); i++) {
		const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
		if (o && (!strcmp(o, a) || !strcmp(o, b)))
			return true;
	}
	return false;
}

static bool is_bind(struct json_object *m)
{
	const char *type = json_get_string(m, "type");
	return (type && !strcmp(type, "bind")) || has_option(m, "bind", "rbind");
}

/* A file's share is its whole directory: read-only at least when every
 * mount from it is. */
static int plan_share(struct vm_plan *p, const char *dir, bool ro, husk_error **err)
{
	for (size_t i = 0; i < p->n_shares; i++) {
		if (!strcmp(p->shares[i].source, dir)) {
			p->shares[i].readonly &= ro;
			return 0;
		}
	}
	if (p->n_shares >= ARRAY_SIZE(p->shares))
		return husk_fail(err, E2BIG, "vm: more than %zu bind-mount sources", ARRAY_SIZE(p->shares));
	struct vm_share *s = &p->shares[p->n_shares];
	snprintf(s->tag, sizeof(s->tag), "s%zu", p->n_shares + 1);
	s->source = strdup(dir);
	s->readonly = ro;
	p->n_shares++;
	return s->source ? 0 : husk_fail(err, ENOMEM, "vm: share");
}

/* A bind mount's source is a host path: its directory (a file's parent)
 * goes to the guest as a 9p share, and the source in the config the guest
 * gets is made absolute and canonical, as the agent mounts the share there. */
static int plan_bind(struct vm_plan *p, const char *bundle, struct json_object *m, size_t i,
		     husk_error **err)
{
	const char *src = json_get_string(m, "source");
	_cleanup_free_ char *joined = NULL;
	if (!src)
		return husk_fail(err, 0, "config.json: mounts[%zu].source: a bind mount needs one", i);
	if (src[0] != '/' && asprintf(&joined, "%s/%s", bundle, src) < 0)
		return husk_fail(err, ENOMEM, "vm: mounts");
	_cleanup_free_ char *real = realpath(joined ? joined : src, NULL);
	struct stat st;
	if (!real || stat(real, &st) < 0)
		return husk_fail(err, errno, "config.json: mounts[%zu].source: %s", i, src);
	json_object_object_add(m, "source", json_object_new_string(real));
	bool ro = has_option(m, "ro", "rro");
	if (S_ISDIR(st.st_mode))
		return plan_share(p, real, ro, err);
	char *slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else
		*slash = '\0';
	return plan_share(p, real, ro, err);
}

static void add_text(struct json_object *o, const char *key, const char *value)
{
	if (*value)
		json_object_object_add(o, key, json_object_new_string(value));
}

/* CREATE's "network" (vm/proto.h). */
static struct json_object *plan_network(const struct netns_guest *g)
{
	struct json_object *o = json_object_new_object();
	add_text(o, "mac", g->mac);
	json_object_object_add(o, "mtu", json_object_new_int((int)g->mtu));
	add_text(o, "ipv4", g->ipv4);
	add_text(o, "gateway4", g->gateway4);
	add_text(o, "ipv6", g->ipv6);
	add_text(o, "gateway6", g->gateway6);
	return o;
}

static int plan_create(struct vm_plan *p, const struct create_job *j, husk_error **err)
{
	struct json_object *config = NULL;
	if (json_object_deep_copy(j->spec->json, &config, NULL) < 0 || !config)
		return husk_fail(err, ENOMEM, "vm: copy config");
	p->create = json_object_new_object();
	json_object_object_add(p->create, "config", config);
	json_object_object_add(p->create, "rootfs", json_object_new_string(VM_ROOTFS_TAG));
	struct json_object *mounts = json_get(config, "mounts");
	for (size_t i = 0; mounts && json_object_is_type(mounts, json_type_array) &&
			   i < json_object_array_length(mounts); i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);
		if (is_bind(m) && plan_bind(p, j->bundle, m, i, err) < 0)
			return -1;
	}
	struct json_object *shares = json_object_new_array();
	for (size_t i = 0; i < p->n_shares; i++) {
		struct json_object *s = json_object_new_object();
		json_object_object_add(s, "tag", json_object_new_string(p->shares[i].tag));
		json_object_object_add(s, "source", json_object_new_string(p->shares[i].source));
		json_object_array_add(shares, s);
	}
	json_object_object_add(p->create, "shares", shares);
	json_object_object_add(p->create, "terminal",
			       json_object_new_boolean(j->spec->process->terminal));
	if (p->net.tap_fd >= 0)
		json_object_object_add(p->create, "network", plan_network(&p->net));
	return 0;
}

static unsigned boot_timeout_ms(bool kvm)
{
	const char *env = getenv("HUSK_VM_BOOT_TIMEOUT");
	long s = env ? strtol(env, NULL, 10) : 0;
	if (s <= 0)
		s = kvm ? 30 : 120;
	return (unsigned)(s > 3600 ? 3600 : s) * 1000;
}

/* ---- the terminal ---------------------------------------------------- */

/* A pty whose master goes where the init's would (console socket, or back
 * to `run`); its slave, raw because the guest has a pty of its own, is the
 * monitor's stdio. */
static int vm_console(struct create_job *j, int *slave_out, husk_error **err)
{
	_cleanup_close_ int master = -1;
	char name[CONSOLE_NAME_MAX];
	_cleanup_close_ int slave = console_open_raw_pty(j->spec->process, &master, name, err);
	if (slave < 0)
		return husk_error_wrap(err, "vm");
	if (console_send_fd(j->console_fd, master, name, err) < 0)
		return -1;
	*slave_out = TAKE_FD(slave);
	return 0;
}

/* ---- the monitor ----------------------------------------------------- */

/* The monitor keeps only what it uses: an engine's stray fds must not stay
 * open for the container's lifetime through it. */
static void close_other_fds(const int *keep, size_t n)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	for (struct dirent *e; (e = readdir(d));) {
		int fd = atoi(e->d_name);
		bool kept = fd <= 2 || fd == self || e->d_name[0] == '.';
		for (size_t i = 0; i < n && !kept; i++)
			kept = keep[i] == fd;
		if (!kept)
			close(fd);
	}
}

__attribute__((noreturn)) static void monitor_child(struct create_job *j, struct vm_monitor *m,
						    int slave)
{
	if (slave >= 0) {
		/* Its controlling terminal: a resize reaches it as SIGWINCH. */
		setsid();
		for (int i = 0; i < 3; i++)
			dup2(slave, i);
		ioctl(0, TIOCSCTTY, 0);
	}
	const int keep[] = { j->sync[1], j->start[0], j->start[1], j->exec[1], m->ctl, m->qemu_ctl,
			     m->tap };
	close_other_fds(keep, ARRAY_SIZE(keep));
	vm_monitor_main(m);
}

static pid_t vm_fork_monitor(struct create_job *j, struct vm_monitor *m, int slave, husk_error **err)
{
	struct clone_args args = { .flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&j->pidfd,
				   .exit_signal = SIGCHLD };
	_cleanup_close_ int cgfd = cgroup_clone_fd(j->cg);
	if (cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	pid_t pid = proc_clone(&args);
	if (pid == 0)
		monitor_child(j, m, slave);
	if (pid < 0)
		return husk_fail(err, errno, "vm: fork the monitor");
	j->cloned_into_cgroup = args.flags & CLONE_INTO_CGROUP;
	return pid;
}

static void json_putp(struct json_object **o)
{
	json_object_put(*o);
}

/* The monitor is in its cgroup and the hooks have run: let it boot. */
static int vm_place(struct create_job *j, pid_t pid, husk_error **err)
{
	_cleanup_(json_putp) struct json_object *res = vm_host_resources(j->spec->linux_->resources);
	if (cgroup_enter_rest(j->cg, pid, false, j->cloned_into_cgroup, err) < 0 ||
	    cgroup_apply_resources(j->cg, res, err) < 0)
		return -1;
	_cleanup_free_ char *json = state_oci_json(&j->st, "creating");
	if (hooks_run(j->spec, SPEC_HOOK_PRESTART, json, err) < 0 ||
	    hooks_run(j->spec, SPEC_HOOK_CREATE_RUNTIME, json, err) < 0)
		return -1;
	return sync_send_type(j->sync[0], SYNC_CGROUP_DONE, err);
}

static int vm_start_monitor(struct create_job *j, const struct husk_opts *o, struct vm_plan *p,
			    husk_error **err)
{
	bool kvm = vm_kvm_usable();
	int sp[2];
	_cleanup_close_ int slave = -1;
	if (!kvm)
		log_warning(o, "vm: /dev/kvm is not usable, QEMU emulates the CPU (TCG): much slower");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return husk_fail(err, errno, "vm: control socket");
	_cleanup_free_ char *console = NULL, *create = NULL;
	if (asprintf(&console, "%s/%s", p->state_dir, VM_CONSOLE_LOG) < 0)
		return husk_fail(err, ENOMEM, "vm");
	unsigned cpus, mem;
	vm_machine_size(j->spec->linux_->resources, &cpus, &mem);
	const struct vm_qemu_cfg q = {
		.qemu = p->qemu, .vmlinux = p->boot.vmlinux, .initrd = p->boot.initrd, .kvm = kvm,
		.cpus = cpus, .mem_mib = mem, .tsc_khz = vm_host_tsc_khz(), .rootfs = j->rootfs,
		.shares = p->shares, .n_shares = p->n_shares, .ctl_fd = VM_QEMU_CTL_FD,
		.tap_fd = p->net.tap_fd >= 0 ? VM_QEMU_TAP_FD : 0, .mac = p->net.mac,
		.console_log = console, .debug = o->debug,
	};
	struct vm_monitor m = {
		.o = o, .state_dir = p->state_dir, .qemu_argv = vm_qemu_argv(&q),
		.create_json = strdup(json_object_to_json_string_ext(p->create, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)),
		.boot_timeout_ms = boot_timeout_ms(kvm), .terminal = j->spec->process->terminal,
		.sync_fd = j->sync[1], .start_rd = j->start[0], .start_wr = j->start[1],
		.exec_wr = j->exec[1], .dirfd = -1, .ctl = sp[0], .qemu_ctl = sp[1],
		.tap = p->net.tap_fd, .qemu = -1,
		.qemu_pidfd = -1, .sfd = -1, .exec_listen = -1,
	};
	_cleanup_strv_ char **argv = m.qemu_argv;
	create = m.create_json;
	int r = m.terminal ? vm_console(j, &slave, err) : 0;
	pid_t pid = r < 0 ? -1 : vm_fork_monitor(j, &m, slave, err);
	close(sp[0]);
	close(sp[1]);
	/* Only the monitor (then QEMU) keeps the tap: it goes with them. */
	if (p->net.tap_fd >= 0)
		close(p->net.tap_fd);
	p->net.tap_fd = -1;
	if (pid < 0)
		return -1;
	create_record_init(j, pid);
	return vm_place(j, pid, err);
}

int vm_create_drive(struct create_job *j, const struct husk_opts *o, const struct create_opts *c,
		    husk_error **err)
{
	struct vm_plan p = { .net.tap_fd = -1 };
	_cleanup_free_ char *root = realpath(o->root, NULL);
	int r = 0;

	if (!root || asprintf(&p.state_dir, "%s/%s", root, c->id) < 0) {
		p.state_dir = NULL;
		r = husk_fail(err, errno, "vm: state directory of %s", c->id);
	}
	/* Recorded at once: delete (or create_undo) returns what a killed
	 * create took. */
	if (r == 0 && netns_attach_tap(j->rootfd, &j->st, j->spec, c->network, &p.net, err) < 0)
		r = -1;
	if (r == 0 && j->st.network && create_persist_early(j, false, err) < 0)
		r = -1;
	if (r == 0 && (plan_boot(&p, j, c, err) < 0 || plan_create(&p, j, err) < 0))
		r = -1;
	if (r == 0)
		r = vm_start_monitor(j, o, &p, err);
	/* The monitor's messages say "vm: " themselves. */
	if (r == 0 && sync_expect(j->sync[0], SYNC_READY, NULL, err) < 0)
		r = -1;
	vm_plan_clear(&p);
	return r;
}
