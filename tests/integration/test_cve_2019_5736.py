"""CVE-2019-5736: a container must never get hold of the host's runtime binary.

While a process is inside execve(), /proc/self/exe still names the program
doing the exec.  If that is the runtime itself, an entrypoint script starting
with `#!/proc/self/exe` makes the container's process *become* the host's
runtime binary; from there it can keep a descriptor to it and overwrite it
once no runtime process runs.  husk's last exec goes through a sealed memfd
stub (runtime/trampoline.h), so such a script only ever reaches the stub,
which exits with 126 when run without its arguments.

To make the attack real, the rootfs gets the host's dynamic loader and the
libraries of the runtime binary (so that, without the fix, the container
really runs it), and a preloaded probe that reports which file the process is
running and exits 42.  Nothing here ever opens the host binary for writing.
"""
import hashlib
import os
import re
import shutil
import subprocess

import pytest

STUB_EXIT = 126           # the stub, run by hand: see runtime/trampoline/stub.c
PROBE_EXIT = 42

PROBE_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Runs before main() of whatever dynamic binary the process has become. */
__attribute__((constructor)) static void probe(void)
{
	struct stat st;
	int fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &st) == 0)
		dprintf(1, "probe exe %lu:%lu\n", (unsigned long)st.st_dev,
			(unsigned long)st.st_ino);
	_exit(42);
}
"""


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def identity(path):
    st = os.stat(path)
    return "%d:%d" % (st.st_dev, st.st_ino)


def copy_into(rootfs, path):
    dst = os.path.join(rootfs, path.lstrip("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if not os.path.exists(dst):
        shutil.copy(path, dst)          # follows symlinks: a real file inside


def add_runtime_libs(rootfs, binary):
    """The loader and libraries `binary` needs, so the container could run it."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    paths = re.findall(r"(/\S+\.so[.\d]*)", out)
    assert any("ld-linux" in p for p in paths), out
    for p in paths:
        copy_into(rootfs, p)


def add_evil(rootfs, name="evil"):
    path = os.path.join(rootfs, "bin", name)
    with open(path, "w") as f:
        f.write("#!/proc/self/exe\n")
    os.chmod(path, 0o755)
    return "/bin/" + name


def add_probe(rootfs, tmpdir):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler for the preload probe")
    src = os.path.join(tmpdir, "probe.c")
    with open(src, "w") as f:
        f.write(PROBE_C)
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o",
                    os.path.join(rootfs, "probe.so"), src], check=True)
    return "LD_PRELOAD=/probe.so"


def attack_bundle(bundle, husk_bin, tmpdir, args):
    b = bundle(args)
    add_runtime_libs(b.rootfs, husk_bin)
    add_evil(b.rootfs)
    b.process["env"].append(add_probe(b.rootfs, tmpdir))
    return b


def assert_not_host_runtime(r, husk_bin):
    """What a process that ran /bin/evil left behind: only the stub's exit."""
    assert identity(husk_bin) not in r.stdout, \
        "the container's process became the host's runtime binary: %r" % r.stdout
    assert "probe exe" not in r.stdout, r.stdout
    assert r.returncode == STUB_EXIT, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == "", r.stdout
    assert "usage" not in r.stderr.lower() and "command" not in r.stderr, r.stderr


@pytest.mark.husk_only
def test_entrypoint_script_cannot_become_runtime(bundle, runtime, husk_bin, tmpdir_s):
    before = sha256(husk_bin)
    b = attack_bundle(bundle, husk_bin, tmpdir_s, ["/bin/evil"])
    r = runtime.run(b)
    assert_not_host_runtime(r, husk_bin)
    assert r.stderr == "", r.stderr
    assert sha256(husk_bin) == before


@pytest.mark.husk_only
def test_exec_script_cannot_become_runtime(bundle, runtime, husk_bin, tmpdir_s):
    before = sha256(husk_bin)
    b = attack_bundle(bundle, husk_bin, tmpdir_s, ["sleep", "30"])
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    r = runtime.exec(b.id, "/bin/evil")
    assert_not_host_runtime(r, husk_bin)
    # the container is still there, and a second exec sees the same
    r = runtime.exec(b.id, "/bin/evil")
    assert r.returncode == STUB_EXIT, (r.returncode, r.stdout, r.stderr)
    assert sha256(husk_bin) == before


@pytest.mark.husk_only
def test_script_under_seccomp_without_memfd_create(bundle, runtime, husk_bin, tmpdir_s):
    # the filter allows execve/execveat but not memfd_create: the memfd is
    # made before the filter is loaded, so the protection still holds
    allowed = ["read", "write", "close", "close_range", "fcntl", "execve", "execveat",
               "exit", "exit_group", "brk", "mmap", "munmap", "mprotect", "rt_sigaction",
               "rt_sigprocmask", "rt_sigreturn", "capget", "capset", "prctl",
               "setgroups", "setresuid", "setresgid", "setuid", "setgid", "getpid"]
    b = attack_bundle(bundle, husk_bin, tmpdir_s, ["/bin/evil"])
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO",
                          "architectures": ["SCMP_ARCH_X86_64"],
                          "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}
    r = runtime.run(b)
    assert_not_host_runtime(r, husk_bin)


def test_user_program_is_its_own_exe(bundle, runtime):
    # sanity: once started, the process (and its children) run busybox, not the stub
    b = bundle(["sh", "-c", "readlink /proc/self/exe; readlink /proc/$$/exe; readlink /proc/1/exe"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["/bin/busybox"] * 3


def test_exec_user_program_is_its_own_exe(bundle, runtime):
    b = bundle(["sleep", "30"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.exec(b.id, "sh", "-c", "readlink /proc/$$/exe")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/bin/busybox\n"


def add_not_elf(rootfs):
    path = os.path.join(rootfs, "bin", "notelf")
    with open(path, "wb") as f:
        f.write(b"\x7fELF but not really")
    os.chmod(path, 0o755)
    return "/bin/notelf"


def test_failed_exec_is_reported(bundle, runtime):
    # execve of the user's program fails in the stub: the error still reaches `run`
    b = bundle(["/bin/notelf", "arg"])
    add_not_elf(b.rootfs)
    r = runtime.run(b)
    assert r.returncode != 0
    assert "/bin/notelf" in r.stderr and "exec format error" in r.stderr.lower(), r.stderr
    assert r.stdout == ""


def test_failed_exec_is_reported_by_exec(bundle, runtime):
    b = bundle(["sleep", "30"])
    add_not_elf(b.rootfs)
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.exec(b.id, "/bin/notelf")
    assert r.returncode != 0
    assert "/bin/notelf" in r.stderr and "exec format error" in r.stderr.lower(), r.stderr
    # and a good exec right after still works (the error pipe read EOF)
    r = runtime.exec(b.id, "echo", "ok")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
