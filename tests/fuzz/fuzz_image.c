/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the OCI image layout parsers (image/layout.c: index,
 * nested indexes, manifest, config) and image_spec_apply (image/spec.c,
 * with image/user.c's User lookup).
 *
 * image/ has no pure entry point: oci_image_open() reads a layout
 * directory and checks every blob against its digest. So the input is cut
 * into parts at each "\n---\n": part 0 is index.json, parts 1..5 are blobs.
 * In part i, "@j" (j > i, a digit) becomes "sha256:<digest of part j>", so
 * the fuzzer can chain index -> manifest -> config without computing
 * hashes. The parts are written to a layout in a private temporary
 * directory under $TMPDIR (run.sh points it at tmpfs when it can), then
 * oci_image_open() runs on it. An image that opens is laid over a small
 * default runtime config, with one lower layer holding a fixed etc/passwd
 * and etc/group.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../image/internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 6
#define SEP "\n---\n"

static char base[256];   /* the temporary directory */
static char layout[300]; /* <base>/layout */
static char lower[300];  /* <base>/lower */
static int verbose;      /* HUSK_FUZZ_VERBOSE=1: print why an input failed */

static const char *default_spec =
	"{\"ociVersion\":\"1.2.0\",\"process\":{\"terminal\":true,\"user\":{\"uid\":0,"
	"\"gid\":0},\"args\":[\"sh\"],\"env\":[\"PATH=/usr/bin:/bin\",\"TERM=xterm\"],"
	"\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"annotations\":{\"a\":\"b\"}}";

static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror(path);
		abort(); /* the harness, not husk */
	}
	close(fd);
}

static void write_str(const char *dir, const char *name, const char *text)
{
	write_file(dir, name, text, strlen(text));
}

static void cleanup(void)
{
	char cmd[300];

	if (base[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_image: could not remove %s\n", base);
	}
}

static void make_dir(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", dir, name);
	if (mkdir(path, 0755) < 0) {
		perror(path);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];

	snprintf(base, sizeof(base), "%s/husk-fuzz-image.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror(base);
		abort();
	}
	atexit(cleanup);
	verbose = getenv("HUSK_FUZZ_VERBOSE") != NULL;
	snprintf(layout, sizeof(layout), "%s/layout", base);
	snprintf(lower, sizeof(lower), "%s/lower", base);
	make_dir(layout, "");
	make_dir(layout, "/blobs");
	make_dir(layout, "/blobs/sha256");
	make_dir(lower, "");
	make_dir(lower, "/etc");
	write_str(layout, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	snprintf(path, sizeof(path), "%s/etc", lower);
	write_str(path, "passwd", "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34::/:/bin/sh\n");
	write_str(path, "group", "root:x:0:\nwww:x:34:\nstaff:x:50:www\n");
	return 0;
}

struct part {
	char *text;
	size_t len;
	char hex[DIGEST_HEX + 1];
};

/* p->text with "@j" (j > i, j < n) replaced by the digest of part j. */
static int substitute(struct part *parts, size_t n, size_t i, const char *src, size_t len)
{
	struct part *p = &parts[i];
	size_t cap = len + 1, out = 0;

	for (size_t k = 0; k + 1 < len; k++)
		if (src[k] == '@' && src[k + 1] > '0' + (int)i && src[k + 1] < '0' + (int)n)
			cap += sizeof("sha256:") - 1 + DIGEST_HEX;
	if (!(p->text = malloc(cap)))
		return -1;
	for (size_t k = 0; k < len; k++) {
		if (k + 1 < len && src[k] == '@' && src[k + 1] > '0' + (int)i &&
		    src[k + 1] < '0' + (int)n) {
			out += (size_t)sprintf(p->text + out, "sha256:%s",
					       parts[src[k + 1] - '0'].hex);
			k++;
			continue;
		}
		p->text[out++] = src[k];
	}
	p->text[out] = '\0';
	p->len = out;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct part parts[MAX_PARTS] = { 0 };
	const char *start[MAX_PARTS];
	size_t len[MAX_PARTS], n = 0;
	const char *text = (const char *)data, *end = text + size;
	char dir[512];

	/* Cut at SEP; the last part takes the rest. */
	for (const char *p = text;;) {
		const char *sep = n + 1 < MAX_PARTS ? memmem(p, (size_t)(end - p), SEP, strlen(SEP)) : NULL;
		start[n] = p;
		len[n] = (size_t)((sep ? sep : end) - p);
		n++;
		if (!sep)
			break;
		p = sep + strlen(SEP);
	}
	/* From the last part back, so every "@j" is known when it is used. */
	for (size_t i = n; i-- > 0;) {
		if (substitute(parts, n, i, start[i], len[i]) < 0)
			goto out;
		digest_buf(parts[i].text, parts[i].len, parts[i].hex);
	}
	write_file(layout, "index.json", parts[0].text, parts[0].len);
	snprintf(dir, sizeof(dir), "%s/blobs/sha256", layout);
	for (size_t i = 1; i < n; i++)
		write_file(dir, parts[i].hex, parts[i].text, parts[i].len);

	struct oci_image img;
	husk_error *err = NULL;
	if (oci_image_open(layout, NULL, &img, &err) == 0) {
		struct json_object *spec = json_tokener_parse(default_spec);
		char *lowers[] = { lower };
		husk_error *err2 = NULL;

		if (!spec)
			abort();
		if (image_spec_apply(spec, img.config, lowers, 1, &err2) == 0) {
			const char *out = json_object_to_json_string(spec);
			if (verbose)
				fprintf(stderr, "fuzz_image: %s\n", out);
		} else if (verbose) {
			fprintf(stderr, "fuzz_image: apply: %s\n", err2->msg);
		}
		json_object_put(spec);
		husk_error_free(&err2);
		oci_image_close(&img);
	} else if (verbose) {
		fprintf(stderr, "fuzz_image: %s\n", err->msg);
	}
	husk_error_free(&err);

	for (size_t i = 1; i < n; i++) {
		char path[700];
		snprintf(path, sizeof(path), "%s/%s", dir, parts[i].hex);
		unlink(path); /* two parts may be the same blob: ENOENT is fine */
	}
out:
	for (size_t i = 0; i < n; i++)
		free(parts[i].text);
	return 0;
}
