"""A minimal CRI (Kubernetes Container Runtime Interface, runtime.v1) client,
enough to play the kubelet's part against containerd's CRI plugin.

Debian 12 ships no crictl and no CRI .proto, so the few messages used here
are declared by hand (field numbers from cri-api's api.proto, runtime.v1) and
built at run time with protobuf's descriptor API; grpcio carries the calls.
Unused fields are simply left out, which protobuf's wire format allows.
"""
import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "runtime.v1"
SERVICE = "/runtime.v1.RuntimeService/"

T = descriptor_pb2.FieldDescriptorProto
S, B, BYTES, I32, I64, U32 = (T.TYPE_STRING, T.TYPE_BOOL, T.TYPE_BYTES, T.TYPE_INT32,
                              T.TYPE_INT64, T.TYPE_UINT32)
REP = "repeated"

# message -> [(field, number, type or message name, "repeated"?)]
# Enums are declared as int32: the same varint on the wire.
MESSAGES = {
    "VersionRequest": [("version", 1, S)],
    "VersionResponse": [("version", 1, S), ("runtime_name", 2, S),
                        ("runtime_version", 3, S), ("runtime_api_version", 4, S)],
    "StringMapEntry": [("key", 1, S), ("value", 2, S)],
    "PodSandboxMetadata": [("name", 1, S), ("uid", 2, S), ("namespace", 3, S),
                           ("attempt", 4, U32)],
    "NamespaceOption": [("network", 1, I32), ("pid", 2, I32), ("ipc", 3, I32),
                        ("target_id", 4, S)],
    "LinuxSandboxSecurityContext": [("namespace_options", 1, "NamespaceOption")],
    "LinuxPodSandboxConfig": [("cgroup_parent", 1, S),
                              ("security_context", 2, "LinuxSandboxSecurityContext")],
    "PodSandboxConfig": [("metadata", 1, "PodSandboxMetadata"), ("hostname", 2, S),
                         ("log_directory", 3, S), ("linux", 8, "LinuxPodSandboxConfig")],
    "RunPodSandboxRequest": [("config", 1, "PodSandboxConfig"), ("runtime_handler", 2, S)],
    "RunPodSandboxResponse": [("pod_sandbox_id", 1, S)],
    "StopPodSandboxRequest": [("pod_sandbox_id", 1, S)],
    "StopPodSandboxResponse": [],
    "RemovePodSandboxRequest": [("pod_sandbox_id", 1, S)],
    "RemovePodSandboxResponse": [],
    "PodSandboxStatusRequest": [("pod_sandbox_id", 1, S), ("verbose", 2, B)],
    "PodSandboxStatus": [("id", 1, S), ("state", 3, I32), ("created_at", 4, I64),
                         ("runtime_handler", 9, S)],
    "PodSandboxStatusResponse": [("status", 1, "PodSandboxStatus"),
                                 ("info", 2, "StringMapEntry", REP)],
    "ContainerMetadata": [("name", 1, S), ("attempt", 2, U32)],
    "ImageSpec": [("image", 1, S)],
    "KeyValue": [("key", 1, S), ("value", 2, S)],
    "ContainerConfig": [("metadata", 1, "ContainerMetadata"), ("image", 2, "ImageSpec"),
                        ("command", 3, S, REP), ("args", 4, S, REP), ("working_dir", 5, S),
                        ("envs", 6, "KeyValue", REP), ("log_path", 11, S)],
    "CreateContainerRequest": [("pod_sandbox_id", 1, S), ("config", 2, "ContainerConfig"),
                               ("sandbox_config", 3, "PodSandboxConfig")],
    "CreateContainerResponse": [("container_id", 1, S)],
    "StartContainerRequest": [("container_id", 1, S)],
    "StartContainerResponse": [],
    "StopContainerRequest": [("container_id", 1, S), ("timeout", 2, I64)],
    "StopContainerResponse": [],
    "RemoveContainerRequest": [("container_id", 1, S)],
    "RemoveContainerResponse": [],
    "ContainerStatusRequest": [("container_id", 1, S), ("verbose", 2, B)],
    "ContainerStatus": [("id", 1, S), ("state", 3, I32), ("created_at", 4, I64),
                        ("started_at", 5, I64), ("finished_at", 6, I64),
                        ("exit_code", 7, I32), ("reason", 10, S), ("message", 11, S),
                        ("log_path", 15, S)],
    "ContainerStatusResponse": [("status", 1, "ContainerStatus"),
                                ("info", 2, "StringMapEntry", REP)],
    "ExecSyncRequest": [("container_id", 1, S), ("cmd", 2, S, REP), ("timeout", 3, I64)],
    "ExecSyncResponse": [("stdout", 1, BYTES), ("stderr", 2, BYTES), ("exit_code", 3, I32)],
}

# NamespaceMode and ContainerState values
POD, CONTAINER, NODE = 0, 1, 2
CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED = 0, 1, 2
SANDBOX_READY, SANDBOX_NOTREADY = 0, 1


def _build_classes():
    fdp = descriptor_pb2.FileDescriptorProto(name="husk_cri_subset.proto", package=PACKAGE,
                                             syntax="proto3")
    for name, fields in MESSAGES.items():
        m = fdp.message_type.add(name=name)
        for f in fields:
            fname, num, ftype = f[:3]
            fd = m.field.add(name=fname, number=num)
            fd.label = T.LABEL_REPEATED if len(f) > 3 else T.LABEL_OPTIONAL
            if isinstance(ftype, str):
                fd.type = T.TYPE_MESSAGE
                fd.type_name = ".%s.%s" % (PACKAGE, ftype)
            else:
                fd.type = ftype
    pool = descriptor_pool.DescriptorPool()
    fd = pool.Add(fdp)
    del fd
    factory = message_factory.MessageFactory(pool)
    out = {}
    for name in MESSAGES:
        desc = pool.FindMessageTypeByName("%s.%s" % (PACKAGE, name))
        get = getattr(message_factory, "GetMessageClass", None)
        out[name] = get(desc) if get else factory.GetPrototype(desc)
    return out


M = _build_classes()


class CRIClient:
    def __init__(self, socket_path, timeout=60):
        self.channel = grpc.insecure_channel("unix://" + socket_path)
        self.timeout = timeout

    def close(self):
        self.channel.close()

    def call(self, method, **fields):
        req = M[method + "Request"](**fields)
        resp_cls = M[method + "Response"]
        fn = self.channel.unary_unary(SERVICE + method,
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=resp_cls.FromString)
        return fn(req, timeout=self.timeout)

    # --- the kubelet's calls, in order --------------------------------------
    def version(self):
        return self.call("Version", version="v1")

    @staticmethod
    def sandbox_config(name, uid, cgroup_parent, log_dir):
        return M["PodSandboxConfig"](
            metadata=M["PodSandboxMetadata"](name=name, uid=uid, namespace="default"),
            # the kubelet sets no hostname for a hostNetwork pod (the UTS
            # namespace is the node's), and runtimes refuse one
            hostname="",
            log_directory=log_dir,
            linux=M["LinuxPodSandboxConfig"](
                cgroup_parent=cgroup_parent,
                security_context=M["LinuxSandboxSecurityContext"](
                    # hostNetwork: no CNI needed; PID and IPC are the pod's own
                    namespace_options=M["NamespaceOption"](network=NODE, pid=POD, ipc=POD))))

    def run_pod(self, config, handler):
        return self.call("RunPodSandbox", config=config, runtime_handler=handler).pod_sandbox_id

    def pod_status(self, pod_id, verbose=True):
        return self.call("PodSandboxStatus", pod_sandbox_id=pod_id, verbose=verbose)

    def create_container(self, pod_id, sandbox_config, name, image, command, log_path):
        cfg = M["ContainerConfig"](metadata=M["ContainerMetadata"](name=name),
                                   image=M["ImageSpec"](image=image),
                                   command=command, log_path=log_path)
        return self.call("CreateContainer", pod_sandbox_id=pod_id, config=cfg,
                         sandbox_config=sandbox_config).container_id

    def start_container(self, cid):
        self.call("StartContainer", container_id=cid)

    def container_status(self, cid, verbose=False):
        return self.call("ContainerStatus", container_id=cid, verbose=verbose)

    def exec_sync(self, cid, cmd, timeout=30):
        return self.call("ExecSync", container_id=cid, cmd=cmd, timeout=timeout)

    def stop_container(self, cid, timeout=0):
        self.call("StopContainer", container_id=cid, timeout=timeout)

    def remove_container(self, cid):
        self.call("RemoveContainer", container_id=cid)

    def stop_pod(self, pod_id):
        self.call("StopPodSandbox", pod_sandbox_id=pod_id)

    def remove_pod(self, pod_id):
        self.call("RemovePodSandbox", pod_sandbox_id=pod_id)


def info_dict(resp):
    return {e.key: e.value for e in resp.info}
