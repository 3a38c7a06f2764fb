/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sha256 digests. nettle, because libarchive already links it on Debian
 * (no second crypto library in the process) and its hash API is three
 * calls with no global state or error paths. */
#include <errno.h>
#include <nettle/sha2.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void digest_to_hex(const uint8_t raw[32], char hex[DIGEST_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
		hex[2 * i] = digits[raw[i] >> 4];
		hex[2 * i + 1] = digits[raw[i] & 0xf];
	}
	hex[DIGEST_HEX] = '\0';
}

int digest_parse(const char *s, char hex[DIGEST_HEX + 1])
{
	const char *colon = s ? strchr(s, ':') : NULL;

	if (!colon || colon == s)
		return -EINVAL;
	if ((size_t)(colon - s) != strlen("sha256") || strncmp(s, "sha256", 6) != 0)
		return -EOPNOTSUPP;
	const char *h = colon + 1;
	if (strlen(h) != DIGEST_HEX || strspn(h, "0123456789abcdef") != DIGEST_HEX)
		return -EINVAL;
	memcpy(hex, h, DIGEST_HEX + 1);
	return 0;
}

int digest_fd(int fd, char hex[DIGEST_HEX + 1], uint64_t *size)
{
	struct sha256_ctx ctx;
	uint8_t buf[1 << 16], raw[SHA256_DIGEST_SIZE];
	uint64_t total = 0;

	sha256_init(&ctx);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		sha256_update(&ctx, (size_t)n, buf);
		total += (uint64_t)n;
	}
	sha256_digest(&ctx, sizeof(raw), raw);
	digest_to_hex(raw, hex);
	if (size)
		*size = total;
	return 0;
}

void digest_buf(const void *data, size_t len, char hex[DIGEST_HEX + 1])
{
	struct sha256_ctx ctx;
	uint8_t raw[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(raw), raw);
	digest_to_hex(raw, hex);
}
