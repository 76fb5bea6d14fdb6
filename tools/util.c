/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <udax/dev.h>
#include <udax/fs.h>

#include "cli.h"

void cli_err(const char *cmd, int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "udax %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", udax_strerror(err));
	fputc('\n', stderr);
}

bool cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end || (shift && v > (~0ull >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

const char *cli_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

bool cli_progress(void)
{
	return isatty(STDERR_FILENO);
}

int cli_open_dev(const char *cmd, const char *spec, uint64_t create_size,
		 struct udax_dev **dev)
{
	struct udax_dev_opts o = { 0 };
	int ret;

	if (create_size) {
		o.flags = UDAX_DEV_CREATE;
		o.size = create_size;
	}
	ret = udax_dev_open(spec, &o, dev);
	if (ret)
		cli_err(cmd, 0, "%s", udax_dev_last_error());
	return ret;
}

int cli_mount(const char *cmd, const char *spec, unsigned part, bool ro,
	      struct udax_dev **dev, struct udax_fs **fs)
{
	struct udax_mount_opts mo = { .flags = ro ? UDAX_MOUNT_RDONLY : 0 };
	int ret;

	ret = cli_open_dev(cmd, spec, 0, dev);
	if (ret)
		return ret;
	ret = udax_mount(*dev, part, &mo, fs);
	if (ret) {
		cli_err(cmd, 0, "cannot mount partition %u of %s: %s", part, spec,
			udax_fs_last_error());
		udax_dev_close(dev, 0);
	}
	return ret;
}

/*
 * The command never blocks forever: pins are the command's own and gone
 * by now, but should one leak, unmount gives up after CLI_UNMOUNT_NS and
 * says why (the device then refuses to close while mounted, and the
 * process exit releases both).
 */
void cli_unmount(struct udax_dev **dev, struct udax_fs **fs)
{
	const struct udax_break_opts brk = { .mode = UDAX_BREAK_TIMEOUT,
					     .timeout_ns = CLI_UNMOUNT_NS };
	int ret;

	if (*fs && (ret = udax_unmount_ex(fs, &brk)))
		cli_err("unmount", 0, "%s", udax_fs_last_error());
	if (*dev && (ret = udax_dev_close(dev, 0)))
		cli_err("close", 0, "%s", udax_dev_last_error());
}
