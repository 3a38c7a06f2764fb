"""Overlay root filesystems (issue #5): `--rootfs-overlay`, the
io.husk.rootfs.lower / io.husk.rootfs.upper annotations, overlay mounts in
mounts[], and that delete (and delete --force) removes the upper and work
directories without following what the container left in them."""
import os
import subprocess

import pytest

from helpers.bundle import make_rootfs
from helpers.util import wait_for

pytestmark = pytest.mark.husk_only   # runc has no overlay root of its own


def writable(b, *args):
    b.config["root"]["readonly"] = False
    if args:
        b.set_args(*args)
    return b


def state_dir(runtime, cid):
    return os.path.join(runtime.root, cid)


def host_overlays(*paths):
    """Host mountinfo lines of overlay mounts that mention any of paths."""
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if " - overlay " in l and any(p in l for p in paths)]


def test_flag_keeps_the_bundle_rootfs_untouched(bundle, runtime):
    b = writable(bundle(), "sh", "-c", "echo new > /newfile && echo changed > /etc/hosts && "
                 "rm /bin/true && cat /newfile /etc/hosts && ls /bin/true || echo gone")
    hosts = open(os.path.join(b.rootfs, "etc/hosts")).read()
    r = runtime.run(b, "--rootfs-overlay")
    assert r.returncode == 0, r.stderr
    out, _ = runtime.output(b.id)
    assert out.split() == ["new", "changed", "gone"]
    assert not os.path.exists(os.path.join(b.rootfs, "newfile"))
    assert open(os.path.join(b.rootfs, "etc/hosts")).read() == hosts
    assert os.path.lexists(os.path.join(b.rootfs, "bin/true"))
    assert not os.path.exists(state_dir(runtime, b.id))   # upper and work went with it


def test_upper_in_state_dir_and_removed_by_delete(bundle, runtime, leaks):
    before = leaks.snapshot()
    b = writable(bundle(), "sh", "-c", "echo data > /written && cat /proc/self/mountinfo "
                 "&& sleep 600")
    r = runtime.run(b, "--rootfs-overlay", detach=True)
    assert r.returncode == 0, r.stderr
    upper = os.path.join(state_dir(runtime, b.id), "upper")
    assert wait_for(lambda: os.path.exists(os.path.join(upper, "written")))
    assert os.path.isdir(os.path.join(state_dir(runtime, b.id), "work"))
    # the container sees an overlay "/"; the host's mount table has none
    out = runtime.wait_output(b.id, " / ")
    root = [l for l in out.splitlines() if l.split()[4] == "/"]
    assert root and " - overlay " in root[-1], out
    assert host_overlays(upper, b.rootfs) == []
    assert runtime.delete(b.id, force=True).returncode == 0
    assert not os.path.exists(state_dir(runtime, b.id))
    leaks.assert_clean(before)


def test_delete_force_after_the_init_was_killed(bundle, runtime):
    b = writable(bundle(), "sh", "-c", "echo x > /x; sleep 600")
    assert runtime.run(b, "--rootfs-overlay", detach=True).returncode == 0
    pid = runtime.state_json(b.id)["pid"]
    assert wait_for(lambda: os.path.exists(os.path.join(state_dir(runtime, b.id), "upper/x")))
    os.kill(pid, 9)   # a crash: nothing ran delete
    runtime.wait_status(b.id, "stopped")
    assert runtime.delete(b.id, force=True).returncode == 0
    assert not os.path.exists(state_dir(runtime, b.id))


def test_create_without_start_then_delete(bundle, runtime):
    b = writable(bundle(["true"]))
    assert runtime.create(b, "--rootfs-overlay").returncode == 0
    assert os.path.isdir(os.path.join(state_dir(runtime, b.id), "upper"))
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(state_dir(runtime, b.id))


def test_writes_are_private_to_each_container(bundle, runtime):
    a = writable(bundle(), "sh", "-c", "echo mine > /tmp/secret; sleep 600")
    assert runtime.run(a, "--rootfs-overlay", detach=True).returncode == 0
    assert wait_for(lambda: os.path.exists(
        os.path.join(state_dir(runtime, a.id), "upper/tmp/secret")))
    b = writable(bundle(), "sh", "-c", "cat /tmp/secret || echo absent")
    b.rootfs = a.rootfs
    b.config["root"]["path"] = a.rootfs          # the very same lower
    r = runtime.run(b, "--rootfs-overlay")
    assert r.returncode == 0, r.stderr
    assert runtime.output(b.id)[0].strip() == "absent"
    assert not os.path.exists(os.path.join(a.rootfs, "tmp/secret"))
    assert runtime.delete(a.id, force=True).returncode == 0


def test_annotations_lower_and_persistent_upper(bundle, runtime, tmpdir_s):
    base = os.path.join(tmpdir_s, "base")
    make_rootfs(base)
    top = os.path.join(tmpdir_s, "top")
    os.makedirs(os.path.join(top, "etc"))
    with open(os.path.join(top, "etc/hosts"), "w") as f:
        f.write("from-top\n")
    upper = os.path.join(tmpdir_s, "upper")
    b = writable(bundle(), "sh", "-c", "cat /etc/hosts; cat /persist 2>/dev/null; "
                 "echo kept >> /persist")
    os.rmdir(os.path.join(b.rootfs, "tmp"))      # the rootfs is only the mount point
    b.config["annotations"] = {"io.husk.rootfs.lower": "%s:%s" % (top, base),
                               "io.husk.rootfs.upper": upper}
    assert runtime.run(b).returncode == 0, runtime.output(b.id)
    assert runtime.output(b.id)[0].split() == ["from-top"]
    assert open(os.path.join(upper, "persist")).read() == "kept\n"
    # the work directory beside the upper went with the container
    assert sorted(os.listdir(tmpdir_s)) == ["base", "top", "upper"]
    b.use_id(b.id + "-again")
    assert runtime.run(b).returncode == 0
    assert runtime.output(b.id)[0].split() == ["from-top", "kept"]
    assert sorted(os.listdir(tmpdir_s)) == ["base", "top", "upper"]


def test_relative_lower_is_relative_to_the_bundle(bundle, runtime):
    b = writable(bundle(["cat", "/etc/hosts"]))
    os.rename(b.rootfs, os.path.join(b.path, "layer0"))
    os.mkdir(b.rootfs)
    b.config["annotations"] = {"io.husk.rootfs.lower": "layer0"}
    assert runtime.run(b).returncode == 0, runtime.output(b.id)
    assert runtime.output(b.id)[0] == "127.0.0.1 localhost\n"


def test_missing_lower_is_a_clear_error(bundle, runtime):
    b = bundle(["true"])
    b.config["annotations"] = {"io.husk.rootfs.lower": "/nonexistent/layer"}
    r = runtime.create(b)
    assert r.returncode != 0
    assert "io.husk.rootfs.lower" in r.stderr and "/nonexistent/layer" in r.stderr
    assert not os.path.exists(state_dir(runtime, b.id))


def test_delete_does_not_follow_symlinks_or_choke_on_depth(bundle, runtime, tmpdir_s):
    canary_dir = os.path.join(tmpdir_s, "outside")
    os.mkdir(canary_dir)
    open(os.path.join(canary_dir, "canary"), "w").close()
    # on the host, /link in the upper points at canary_dir; /deep is 600 levels
    b = writable(bundle(), "sh", "-c", "ln -s %s /link && ln -s %s/canary /flink && "
                 "cd / && i=0; while [ $i -lt 600 ]; do mkdir d && cd d; i=$((i+1)); done; "
                 "touch leaf" % (canary_dir, canary_dir))
    r = runtime.run(b, "--rootfs-overlay", timeout=60)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(canary_dir, "canary"))
    assert not os.path.exists(state_dir(runtime, b.id))


def test_overlay_mount_in_mounts(bundle, runtime, tmpdir_s):
    dirs = {n: os.path.join(tmpdir_s, n) for n in ("lo1", "lo2", "up", "wk")}
    for d in dirs.values():
        os.mkdir(d)
    for lower, text in (("lo1", "one"), ("lo2", "two")):
        with open(os.path.join(dirs[lower], "f"), "w") as f:
            f.write(text)
    with open(os.path.join(dirs["lo2"], "g"), "w") as f:
        f.write("g")
    b = bundle(["sh", "-c", "cat /merged/f /merged/g; echo w > /merged/new"])
    b.add_mount("/merged", "overlay", "overlay", [
        "lowerdir=%s:%s" % (dirs["lo1"], dirs["lo2"]),
        "upperdir=" + dirs["up"], "workdir=" + dirs["wk"]])
    assert runtime.run(b).returncode == 0, runtime.output(b.id)
    assert runtime.output(b.id)[0] == "oneg"
    assert open(os.path.join(dirs["up"], "new")).read() == "w\n"
    assert host_overlays(dirs["up"]) == []


def test_user_namespace_is_refused(bundle, runtime):
    # overlayfs would ignore trusted.overlay.opaque there: hidden files would show
    b = bundle(["true"])
    b.add_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    r = runtime.create(b, "--rootfs-overlay")
    assert r.returncode != 0 and "user namespace" in r.stderr, r.stderr
    assert not os.path.exists(state_dir(runtime, b.id))


def odd_rootfs(b, tmpdir_s):
    """Moves the bundle's rootfs under a directory named with overlay's
    separators and escape character."""
    odd = os.path.join(tmpdir_s, "a,b:c\\d")
    os.mkdir(odd)
    os.rename(b.rootfs, os.path.join(odd, "rootfs"))
    b.rootfs = os.path.join(odd, "rootfs")
    b.config["root"]["path"] = b.rootfs
    return odd


@pytest.mark.parametrize("long_root", [False, True], ids=["fsconfig", "mount2"])
def test_odd_characters_in_paths(bundle, session, tmpdir_s, husk_bin, long_root):
    # fsconfig() takes strings below 256 bytes: longer paths go through
    # mount(2) and its one option string, escaped differently
    from helpers.runtime import Runtime
    b = writable(bundle(), "sh", "-c", "echo hi > /f && cat /f")
    odd = odd_rootfs(b, tmpdir_s)          # the lower, and under it the upper
    root = os.path.join(odd, *(["r" * 60] * 5 if long_root else ["state"]))
    rt = Runtime(husk_bin, root, session.logs, register=session.all_ids.add)
    try:
        r = rt.run(b, "--rootfs-overlay")
        assert r.returncode == 0, r.stderr
        assert rt.output(b.id)[0] == "hi\n"
        assert (len(os.path.join(root, b.id, "upper")) > 256) == long_root
    finally:
        rt.cleanup()
    assert not os.path.exists(os.path.join(root, b.id))
