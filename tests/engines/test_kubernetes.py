"""The Kubernetes path: containerd's CRI plugin with `husk` registered as a
runtime handler, driven the way the kubelet drives it (RunPodSandbox with
runtime_handler "husk", CreateContainer, StartContainer, ExecSync, Stop,
Remove), through engine_cri's small CRI client.

The containerd config is the one README.md shows under
"Kubernetes (RuntimeClass)":

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk.options]
        BinaryName = "/usr/local/bin/husk"

with this run's own paths; a RuntimeClass with `handler: husk` selects it.
"""
import json
import os
import subprocess

import pytest

import engine_util as eu
from engine_daemons import Containerd, need_binaries

grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")
cri = pytest.importorskip("engine_cri", reason="python3-grpcio/python3-protobuf missing")

POD_CGROUP = "/%s/k8s" % eu.SESSION_CGROUP


def cri_config(base, husk):
    return """
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  # root lacks CAP_SYS_RESOURCE here: keep oom_score_adj at or above ours
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{b}/cni/bin"
    conf_dir = "{b}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk.options]
        BinaryName = "{husk}"
""".format(pause=eu.PAUSE_REF, b=base, husk=husk)


@pytest.fixture(scope="module")
def k8s(eng_dir, eng_husk, eng_image_tar, eng_pause_tar):
    need_binaries("containerd", "ctr", "containerd-shim-runc-v2")
    base = os.path.join(eng_dir, "containerd-cri")
    d = Containerd(base, eng_husk, [eng_image_tar, eng_pause_tar],
                            extra_config=cri_config(base, eng_husk), cri=True)
    client = cri.CRIClient(d.sock)
    d.cri = client
    d.logs = os.path.join(base, "pod-logs")
    os.makedirs(d.logs)
    # the CRI plugin learns about imported images asynchronously
    eu.wait_for(lambda: _image_known(client), timeout=20, what="CRI to see the images")
    yield d
    client.close()
    d.close()


def _image_known(client):
    try:
        client.call("Version", version="v1")
        return True
    except grpc.RpcError:
        return False


@pytest.fixture
def kube(k8s):
    yield k8s
    problems = k8s.leaks()
    k8s.remove_all()
    assert not problems, "; ".join(problems)


class Pod:
    """One pod sandbox run with a runtime handler; removed at the end."""

    def __init__(self, kube, name, handler="husk"):
        self.kube = kube
        self.c = kube.cri
        self.config = self.c.sandbox_config(name, "uid-" + name, POD_CGROUP,
                                            os.path.join(kube.logs, name))
        os.makedirs(os.path.join(kube.logs, name), exist_ok=True)
        self.id = self.c.run_pod(self.config, handler)
        self.containers = []

    def container(self, name, command):
        cid = self.c.create_container(self.id, self.config, name, eu.IMAGE_REF, command,
                                      name + ".log")
        self.containers.append(cid)
        self.c.start_container(cid)
        return cid

    def wait_state(self, cid, state, timeout=20):
        def check():
            st = self.c.container_status(cid).status
            return st if st.state == state else None
        return eu.wait_for(check, timeout=timeout, what="container state %d" % state)

    def log(self, name):
        with open(os.path.join(self.kube.logs, self.config.metadata.name, name + ".log")) as f:
            return f.read()

    def remove(self):
        for cid in self.containers:
            try:
                self.c.stop_container(cid, timeout=0)
                self.c.remove_container(cid)
            except grpc.RpcError:
                pass
        self.c.stop_pod(self.id)
        self.c.remove_pod(self.id)


def test_cri_version(kube):
    v = kube.cri.version()
    assert v.runtime_name == "containerd"
    assert v.runtime_api_version.startswith("v1")


def test_pod_with_husk_handler(kube):
    pod = Pod(kube, "husk-pod")
    try:
        st = kube.cri.pod_status(pod.id)
        assert st.status.state == cri.SANDBOX_READY
        info = json.loads(cri.info_dict(st)["info"])
        assert info["runtimeHandler"] == "husk"
        assert info["runtimeType"] == "io.containerd.runc.v2"
        assert info["runtimeOptions"].get("binary_name") == kube.husk, info["runtimeOptions"]
        # the sandbox ("pause") container was made by husk: husk's state, our cgroup
        root = "/run/containerd/runc/k8s.io"
        r = subprocess.run([kube.husk, "--root", root, "state", pod.id],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "running"

        cid = pod.container("app", ["sh", "-c", "echo hello-from-pod; exec sleep 1000"])
        pod.wait_state(cid, cri.CONTAINER_RUNNING)
        eu.wait_for(lambda: "hello-from-pod" in pod.log("app"), timeout=10,
                    what="the container's log line")
        r = subprocess.run([kube.husk, "--root", root, "state", cid],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        # the app joined the pod's PID namespace: PID 1 is the sandbox's sleep
        ex = kube.cri.exec_sync(cid, ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; "
                                     "cat /proc/self/cgroup; exit 3"])
        assert ex.exit_code == 3, ex.stderr
        out = ex.stdout.decode()
        assert out.startswith(" ".join(eu.PAUSE_CMD)), out
        assert ("memory:%s/%s" % (POD_CGROUP, cid)) in out, out
        # stop with no grace period: SIGKILL, exit 137
        kube.cri.stop_container(cid, timeout=0)
        st = pod.wait_state(cid, cri.CONTAINER_EXITED)
        assert st.exit_code == 137, st
    finally:
        pod.remove()


def test_container_exit_code(kube):
    pod = Pod(kube, "exit-pod")
    try:
        cid = pod.container("quits", ["sh", "-c", "echo bye; exit 7"])
        st = pod.wait_state(cid, cri.CONTAINER_EXITED)
        assert st.exit_code == 7, st
        assert st.reason == "Error", st
        assert "bye" in pod.log("quits")
    finally:
        pod.remove()


def test_unknown_handler_is_refused(kube):
    with pytest.raises(grpc.RpcError) as e:
        Pod(kube, "bad-pod", handler="no-such-handler")
    assert "no-such-handler" in str(e.value.details())
