"""Images (issue #5): `husk bundle --image LAYOUT[:TAG] DIR` unpacks an OCI
image layout into the shared layer store once and makes a bundle whose root
is an overlay over it; `husk layers` / `husk layers prune` / `husk images`.

The layouts are written here with tarfile + hashlib + json (no network):
busybox-static in two layers, the second deleting and replacing files of
the first (whiteouts, an opaque directory).  Each test uses its own --root
(the layer store lives there), so counts are exact."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from helpers.bundle import CGROUP_PARENT, cgroups_path
from helpers.runtime import Runtime
from helpers.util import wait_for

pytestmark = pytest.mark.husk_only   # runc has no image support

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "ls", "cat", "echo", "id", "stat", "touch", "sleep", "dd", "rm",
           "find", "sort", "mkdir", "true", "readlink", "head", "xargs"]
LAYER_MT = "application/vnd.oci.image.layer.v1.tar"


# ------------------------------------------------------- image writing ----
def add_dir(t, name, mode=0o755, uid=0, gid=0):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid = tarfile.DIRTYPE, mode, uid, gid
    t.addfile(ti)


def add_file(t, name, data=b"", mode=0o644, uid=0, gid=0, pax=None):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.uid, ti.gid = len(data), mode, uid, gid
    if pax:
        ti.pax_headers = pax
    t.addfile(ti, io.BytesIO(data))


def add_link(t, name, target, hard=False):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    ti.linkname = target
    t.addfile(ti)


def add_node(t, name, kind, major=0, minor=0, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.devmajor, ti.devminor = kind, mode, major, minor
    t.addfile(ti)


def tar_of(fill):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        fill(t)
    return bio.getvalue()


def base_layer(t, marker="base"):
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "old", "old/dir",
              "opq", "opq/sub", "home", "var"):
        add_dir(t, d, 0o1777 if d == "tmp" else 0o755)
    with open(BUSYBOX, "rb") as f:
        add_file(t, "bin/busybox", f.read(), 0o755)
    for a in APPLETS:
        add_link(t, "bin/" + a, "busybox")
    add_file(t, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
             b"app:x:1000:1001:app:/home:/bin/sh\n")
    add_file(t, "etc/group", b"root:x:0:\napp:x:1001:\nstaff:x:50:\n")
    add_file(t, "etc/marker", marker.encode())
    add_file(t, "etc/motd", b"deleted by layer 2\n")
    add_file(t, "etc/issue", b"v1\n")
    add_file(t, "old/dir/a", b"a")
    add_file(t, "opq/x", b"x")
    add_file(t, "opq/sub/y", b"y")
    add_file(t, "var/suid", b"#!/bin/sh\n", 0o4755)
    add_file(t, "home/owned", b"o", 0o640, uid=1000, gid=1001)
    add_file(t, "var/xattr", b"x", pax={"SCHILY.xattr.user.husk": "yes"})
    add_file(t, "var/hard1", b"same inode")
    add_link(t, "var/hard2", "var/hard1", hard=True)
    add_link(t, "var/abs", "/etc/issue")
    add_node(t, "var/null", tarfile.CHRTYPE, 1, 3, 0o666)
    add_node(t, "var/fifo", tarfile.FIFOTYPE)


def top_layer(t):
    add_dir(t, "etc")
    add_file(t, "etc/.wh.motd")                   # delete a file
    add_file(t, "etc/issue", b"v2\n")             # replace a file
    add_file(t, ".wh.old")                        # delete a directory tree
    add_dir(t, "opq")
    add_file(t, "opq/.wh..wh..opq")               # hide everything below
    add_file(t, "opq/z", b"z")
    add_dir(t, "new")
    add_file(t, "new/file", b"added")


class Layout:
    """An OCI image layout directory written from uncompressed layer tars."""

    def __init__(self, path, layers, config=None, tag="latest", compress=True,
                 mangle=None):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"))
        self.diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
        self.layer_descs = []
        for raw in layers:
            blob = gzip.compress(raw, mtime=0) if compress else raw
            d = self.blob(blob, LAYER_MT + ("+gzip" if compress else ""))
            self.layer_descs.append(d)
        cfg = {"architecture": "amd64", "os": "linux",
               "config": config if config is not None else {"Cmd": ["sh"]},
               "rootfs": {"type": "layers", "diff_ids": list(self.diff_ids)}}
        if mangle:
            mangle(self, cfg)
        cdesc = self.blob(json.dumps(cfg).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cdesc, "layers": self.layer_descs}
        mdesc = self.blob(json.dumps(manifest).encode(), manifest["mediaType"])
        mdesc["annotations"] = {"org.opencontainers.image.ref.name": tag}
        self.write("index.json", json.dumps({"schemaVersion": 2, "manifests": [mdesc]}))
        self.write("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}))

    def write(self, name, text):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(text)

    def blob(self, data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.path, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def blob_path(self, desc):
        return os.path.join(self.path, "blobs", "sha256", desc["digest"].split(":")[1])


def busybox_layout(path, config=None, marker="base", **kw):
    return Layout(path, [tar_of(lambda t: base_layer(t, marker)), tar_of(top_layer)],
                  config=config, **kw)


# ------------------------------------------------------------ fixtures ----
@pytest.fixture
def rt(session, tmpdir_s, husk_bin, request):
    """A Runtime with a --root of this test's own (and so its own layer store)."""
    root = os.path.join(tmpdir_s, "root")
    r = Runtime(husk_bin, root, session.logs, register=session.all_ids.add)
    r.hint = request.node.name
    yield r
    r.cleanup()


def store(rt):
    return os.path.join(rt.root, "layers", "sha256")


def store_entries(rt):
    try:
        return sorted(os.listdir(store(rt)))
    except FileNotFoundError:
        return []


def du(path):
    """Bytes on disk under path (hard links once), like du -s -B1."""
    out = subprocess.run(["du", "-s", "-B1", path], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def make_bundle(rt, layout, dest, cid, args=None, tag="latest"):
    r = rt.cmd("bundle", "--image", "%s:%s" % (layout.path, tag), dest)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(dest, "config.json")) as f:
        cfg = json.load(f)
    cfg["linux"]["cgroupsPath"] = cgroups_path(cid)
    if args:
        cfg["process"]["args"] = list(args)
    with open(os.path.join(dest, "config.json"), "w") as f:
        json.dump(cfg, f)
    return cfg


def run_bundle(rt, path, cid, detach=False, timeout=30):
    rt.track(cid)
    out, err = rt._paths(cid)
    args = ["run", "--bundle", path] + (["--detach"] if detach else []) + [cid]
    return rt.raw(rt.argv(*args), timeout=timeout, out=out, err=err)


# --------------------------------------------------------------- tests ----
def test_bundle_runs_the_merged_view(rt, tmpdir_s, new_id):
    img = busybox_layout(os.path.join(tmpdir_s, "img"), config={
        "Entrypoint": ["sh", "-c"], "Cmd": ["id; pwd; echo $GREETING"],
        "Env": ["GREETING=hello"], "User": "app", "WorkingDir": "/home",
        "Labels": {"org.example.k": "v", "io.husk.rootfs.upper": "/etc"}})
    cid = new_id()
    bdir = os.path.join(tmpdir_s, "bundle")
    start = time.monotonic()
    cfg = make_bundle(rt, img, bdir, cid)
    print("\nbundle (unpack 2 layers, %d KiB of busybox): %.1f ms"
          % (os.path.getsize(BUSYBOX) // 1024, (time.monotonic() - start) * 1e3))
    assert os.listdir(os.path.join(bdir, "rootfs")) == []
    assert cfg["process"]["args"] == ["sh", "-c", "id; pwd; echo $GREETING"]
    assert cfg["process"]["user"] == {"uid": 1000, "gid": 1001}
    assert cfg["process"]["cwd"] == "/home" and cfg["process"]["terminal"] is False
    assert "GREETING=hello" in cfg["process"]["env"]
    assert any(e.startswith("PATH=") for e in cfg["process"]["env"])
    ann = cfg["annotations"]
    assert ann["org.example.k"] == "v" and "io.husk.rootfs.upper" not in ann
    lowers = ann["io.husk.rootfs.lower"].split(":")
    assert [os.path.basename(l) for l in lowers] == \
        [d.split(":")[1] for d in reversed(img.diff_ids)]          # top first
    assert cfg["root"] == {"path": "rootfs", "readonly": False}
    r = run_bundle(rt, bdir, cid)
    assert r.returncode == 0, r.stderr
    out = rt.output(cid)[0].splitlines()
    assert out[0].startswith("uid=1000(app) gid=1001(app)")
    assert out[1:] == ["/home", "hello"]


MERGED_SCRIPT = r"""
cat /etc/issue; ls /etc | xargs
ls /opq | xargs
ls -d /old 2>/dev/null || echo no-old
cat /new/file; echo
stat -c '%a %u %g' /var/suid /home/owned
stat -c '%h %i' /var/hard1 /var/hard2
readlink /var/abs; stat -c '%F %t,%T' /var/null /var/fifo
"""


def test_whiteouts_opaque_and_metadata(rt, tmpdir_s, new_id):
    img = busybox_layout(os.path.join(tmpdir_s, "img"))
    cid = new_id()
    bdir = os.path.join(tmpdir_s, "bundle")
    make_bundle(rt, img, bdir, cid, ["sh", "-c", MERGED_SCRIPT])
    r = run_bundle(rt, bdir, cid)
    assert r.returncode == 0, r.stderr
    lines = rt.output(cid)[0].splitlines()
    assert lines[0] == "v2"                                 # replaced by layer 2
    assert lines[1].split() == ["group", "issue", "marker", "passwd"]   # motd whited out
    assert lines[2].split() == ["z"]                        # opaque: x and sub/ hidden
    assert lines[3] == "no-old"                             # directory whited out
    assert lines[4] == "added"
    assert lines[5:7] == ["4755 0 0", "640 1000 1001"]
    links = [l.split() for l in lines[7:9]]
    assert links[0][0] == "2" and links[0] == links[1]      # one inode, two names
    assert lines[9] == "/etc/issue"
    assert lines[10:12] == ["character special file 1,3", "fifo 0,0"]
    # in the store: overlay's own forms, xattrs kept, blobs unchanged
    top = os.path.join(store(rt), img.diff_ids[1].split(":")[1])
    base = os.path.join(store(rt), img.diff_ids[0].split(":")[1])
    st = os.lstat(os.path.join(top, "etc", "motd"))
    assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0
    assert os.getxattr(os.path.join(top, "opq"), "trusted.overlay.opaque") == b"y"
    assert os.getxattr(os.path.join(base, "var", "xattr"), "user.husk") == b"yes"


def test_hundred_containers_share_the_layers(rt, tmpdir_s, new_id):
    """100 bundles and containers from one image: each layer is in the store
    once, and disk use grows only by each container's upper."""
    img = busybox_layout(os.path.join(tmpdir_s, "img"))
    n, write_kib = 100, 64
    ids, bundles = [], []
    start = time.monotonic()
    for i in range(n):
        cid = new_id()
        bdir = os.path.join(tmpdir_s, "b%03d" % i)
        make_bundle(rt, img, bdir, cid, ["sh", "-c", "dd if=/dev/zero of=/data bs=1024 "
                                         "count=%d 2>/dev/null && echo done" % write_kib])
        ids.append(cid)
        bundles.append(bdir)
    t_bundles = time.monotonic() - start
    assert store_entries(rt) == sorted(d.split(":")[1] for d in img.diff_ids)
    store_bytes = du(store(rt))
    start = time.monotonic()
    for cid, bdir in zip(ids, bundles):
        r = run_bundle(rt, bdir, cid, detach=True)
        assert r.returncode == 0, r.stderr
    for cid in ids:
        rt.wait_output(cid, "done")
        rt.wait_status(cid, "stopped")
    t_runs = time.monotonic() - start
    uppers = [du(os.path.join(rt.root, cid, "upper")) for cid in ids]
    works = [du(os.path.join(rt.root, cid, "work")) for cid in ids]
    # still one copy of each layer, untouched by 100 writers
    assert store_entries(rt) == sorted(d.split(":")[1] for d in img.diff_ids)
    assert du(store(rt)) == store_bytes
    for u in uppers:
        assert write_kib * 1024 <= u <= (write_kib + 64) * 1024
    per_container = (sum(uppers) + sum(works)) / n
    print("\nlayer store: %d KiB once; 100 containers: %.1f KiB each (upper+work, "
          "%d KiB written); a copy per container would be %d KiB each"
          % (store_bytes // 1024, per_container / 1024, write_kib, store_bytes // 1024))
    print("100 x bundle: %.2f s (%.1f ms each); 100 x run -d to exit: %.2f s"
          % (t_bundles, t_bundles * 10, t_runs))
    assert per_container < store_bytes / 4
    for cid in ids:
        assert rt.delete(cid).returncode == 0
        assert not os.path.exists(os.path.join(rt.root, cid))


def test_writes_in_one_container_are_invisible_in_another(rt, tmpdir_s, new_id):
    img = busybox_layout(os.path.join(tmpdir_s, "img"))
    a, b = new_id(), new_id()
    ba, bb = os.path.join(tmpdir_s, "a"), os.path.join(tmpdir_s, "b")
    make_bundle(rt, img, ba, a, ["sh", "-c", "echo secret > /etc/issue; rm /etc/marker; "
                                 "echo ok; sleep 600"])
    make_bundle(rt, img, bb, b, ["sh", "-c", "cat /etc/issue /etc/marker"])
    assert run_bundle(rt, ba, a, detach=True).returncode == 0
    rt.wait_output(a, "ok")
    assert run_bundle(rt, bb, b).returncode == 0
    assert rt.output(b)[0].split() == ["v2", "base"]
    upper = os.path.join(rt.root, a, "upper")
    assert open(os.path.join(upper, "etc", "issue")).read() == "secret\n"
    assert rt.delete(a, force=True).returncode == 0
    assert not os.path.exists(os.path.join(rt.root, a))


def test_layers_list_and_prune(rt, tmpdir_s, new_id):
    one = busybox_layout(os.path.join(tmpdir_s, "one"), marker="one")
    two = busybox_layout(os.path.join(tmpdir_s, "two"), marker="two")
    shared = one.diff_ids[1]                      # the same top layer in both
    assert two.diff_ids[1] == shared and one.diff_ids[0] != two.diff_ids[0]
    b1, b2 = os.path.join(tmpdir_s, "b1"), os.path.join(tmpdir_s, "b2")
    make_bundle(rt, one, b1, new_id())
    make_bundle(rt, two, b2, new_id())
    assert len(store_entries(rt)) == 3
    r = rt.cmd("layers", "--format", "json")
    assert r.returncode == 0, r.stderr
    users = {l["diff_id"]: l["users"] for l in json.loads(r.stdout)}
    assert users == {one.diff_ids[0]: 1, two.diff_ids[0]: 1, shared: 2}
    r = rt.cmd("images", "--format", "json")
    assert sorted(b["path"] for b in json.loads(r.stdout)) == sorted([b1, b2])
    assert rt.cmd("layers", "prune").stdout == ""          # all in use
    # a container keeps its layers even when its bundle is gone
    b3, cid = os.path.join(tmpdir_s, "b3"), new_id()
    make_bundle(rt, one, b3, cid, ["sleep", "600"])
    assert run_bundle(rt, b3, cid, detach=True).returncode == 0
    for d in (b1, b3):
        os.remove(os.path.join(d, "config.json"))
    r = rt.cmd("layers", "prune")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert rt.delete(cid, force=True).returncode == 0
    r = rt.cmd("layers", "prune")
    assert [l.split()[0] for l in r.stdout.splitlines()] == [one.diff_ids[0]]
    assert store_entries(rt) == sorted(d.split(":")[1] for d in two.diff_ids)
    assert [b["path"] for b in json.loads(rt.cmd("images", "--format", "json").stdout)] == [b2]


# ------------------------------------------------------------ bad input ----
def assert_refused(rt, layout, dest, *words, bad=None):
    """The bundle fails with words in its message; the layer store gains no
    temporary directory and no layer but complete, verified ones below the
    bad one (index `bad`, default the top)."""
    before = store_entries(rt)
    r = rt.cmd("bundle", "--image", layout.path, dest)
    assert r.returncode != 0, r.stdout
    for w in words:
        assert w in r.stderr, r.stderr
    bad = len(layout.diff_ids) - 1 if bad is None else bad
    good = {d.split(":")[1] for d in layout.diff_ids[:bad]}
    new = set(store_entries(rt)) - set(before)
    assert new <= good, (new, r.stderr)
    assert not os.path.exists(os.path.join(dest, "config.json"))
    return r.stderr


def evil_layout(path, fill):
    return Layout(path, [tar_of(fill)], compress=False)


@pytest.mark.parametrize("name,fill,words", [
    ("dotdot", lambda t: add_file(t, "../../escaped", b"x"), ["escapes the layer"]),
    ("inner-dotdot", lambda t: add_file(t, "a/../../escaped", b"x"), ["escapes the layer"]),
    ("absolute", lambda t: add_file(t, "/tmp/husk-abs-escape", b"x"), ["escapes the layer"]),
    ("hardlink", lambda t: add_link(t, "h", "../../../../etc/passwd", hard=True),
     ["escapes the layer"]),
])
def test_tar_slip_is_refused(rt, tmpdir_s, name, fill, words):
    img = evil_layout(os.path.join(tmpdir_s, "img"), fill)
    assert_refused(rt, img, os.path.join(tmpdir_s, "bundle"), *words)
    assert not os.path.exists("/tmp/husk-abs-escape")
    assert not os.path.exists(os.path.join(tmpdir_s, "escaped"))


def test_write_through_a_symlink_is_refused(rt, tmpdir_s):
    outside = os.path.join(tmpdir_s, "outside")
    os.mkdir(outside)

    def fill(t):
        add_link(t, "link", outside)
        add_file(t, "link/planted", b"x")
    img = evil_layout(os.path.join(tmpdir_s, "img"), fill)
    assert_refused(rt, img, os.path.join(tmpdir_s, "bundle"), "symlink")
    assert os.listdir(outside) == []

    def fill_rel(t):
        add_dir(t, "d")
        add_link(t, "d/up", "../..")
        add_file(t, "d/up/planted", b"x")
    img = evil_layout(os.path.join(tmpdir_s, "img2"), fill_rel)
    assert_refused(rt, img, os.path.join(tmpdir_s, "bundle"), "symlink")
    assert not os.path.exists(os.path.join(rt.root, "layers", "planted"))


def test_blob_digest_mismatch(rt, tmpdir_s):
    img = busybox_layout(os.path.join(tmpdir_s, "img"))
    with open(img.blob_path(img.layer_descs[1]), "r+b") as f:
        f.seek(20)
        f.write(b"\xff\xff")
    err = assert_refused(rt, img, os.path.join(tmpdir_s, "bundle"), "digest mismatch",
                         img.layer_descs[1]["digest"])
    assert "layer" in err


def test_missing_blob(rt, tmpdir_s):
    img = busybox_layout(os.path.join(tmpdir_s, "img"))
    os.remove(img.blob_path(img.layer_descs[0]))
    assert_refused(rt, img, os.path.join(tmpdir_s, "bundle"), img.layer_descs[0]["digest"],
                   "No such file", bad=0)


def test_corrupt_gzip(rt, tmpdir_s):
    raw = gzip.compress(tar_of(lambda t: add_file(t, "f", b"x" * 100000)), mtime=0)
    corrupt = raw[:len(raw) // 2] + bytes(b ^ 0x5a for b in raw[len(raw) // 2:])

    def mangle(layout, cfg):
        os.remove(layout.blob_path(layout.layer_descs[0]))
        layout.layer_descs[0] = layout.blob(corrupt, LAYER_MT + "+gzip")
    img = Layout(os.path.join(tmpdir_s, "img"), [tar_of(lambda t: add_file(t, "f", b"x"))],
                 mangle=mangle)
    assert_refused(rt, img, os.path.join(tmpdir_s, "bundle"), "layer", "gzip")


def test_diff_id_mismatch(rt, tmpdir_s):
    def mangle(layout, cfg):
        cfg["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
    img = busybox_layout(os.path.join(tmpdir_s, "img"), mangle=mangle)
    assert_refused(rt, img, os.path.join(tmpdir_s, "bundle"), "diff ID mismatch", bad=0)


def test_bad_references_and_tags(rt, tmpdir_s):
    img = busybox_layout(os.path.join(tmpdir_s, "img"))
    dest = os.path.join(tmpdir_s, "bundle")
    r = rt.cmd("bundle", "--image", img.path + ":nope", dest)
    assert r.returncode != 0 and 'no image tagged "nope"' in r.stderr and "latest" in r.stderr
    r = rt.cmd("bundle", "--image", tmpdir_s, dest)
    assert r.returncode != 0 and "not an OCI image layout" in r.stderr
    r = rt.cmd("bundle", dest)
    assert r.returncode != 0 and "--image" in r.stderr
    # a digest is never a path
    with open(os.path.join(img.path, "index.json")) as f:
        index = json.load(f)
    index["manifests"][0]["digest"] = "sha256:../../../etc/passwd"
    img.write("index.json", json.dumps(index))
    r = rt.cmd("bundle", "--image", img.path, dest)
    assert r.returncode != 0 and "not a valid sha256 digest" in r.stderr


def test_bundle_refuses_an_existing_config(rt, tmpdir_s):
    img = busybox_layout(os.path.join(tmpdir_s, "img"))
    dest = os.path.join(tmpdir_s, "bundle")
    os.makedirs(dest)
    with open(os.path.join(dest, "config.json"), "w") as f:
        f.write("{}")
    r = rt.cmd("bundle", "--image", img.path, dest)
    assert r.returncode != 0 and "config.json exists" in r.stderr
    assert open(os.path.join(dest, "config.json")).read() == "{}"
