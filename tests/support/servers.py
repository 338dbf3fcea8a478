"""Private servers for tests that stop or restart them: never the shared ones."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


DEPLOY_CONF = Path(__file__).parents[2] / "deploy" / "mosquitto.conf"


def deploy_limits() -> str:
    """The in-flight, queue and session limits of deploy/mosquitto.conf, for test brokers."""
    lines = DEPLOY_CONF.read_text().splitlines()
    return "\n".join(line for line in lines if line.startswith(("max_", "persistent_client")))


@dataclass
class Mosquitto:
    """A Mosquitto broker owned by one test, on a free port, optionally persistent; by default with
    the limits of deploy/mosquitto.conf (Mosquitto's own defaults drop queued QoS 1 messages)."""

    workdir: Path
    extra_conf: str = field(default_factory=deploy_limits)
    persistence: bool = False
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        if self.persistence:
            lines += [
                "persistence true",
                f"persistence_location {self.workdir}/",
                "autosave_interval 1",
            ]
            if _is_root():
                # As root Mosquitto switches to its own user, which cannot write in a test's tmp dir.
                lines.append("user root")
        conf.write_text("\n".join(lines) + "\n" + self.extra_conf + "\n")
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "mosquitto.log").open("ab"),
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster made with initdb in a temp dir, listening on a free loopback port;
    from the system's binaries unless ``bin`` names others (see private_install)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    bin: Path | None = None

    def bindir(self) -> Path:
        """The server binaries: the given ones, else the system's."""
        if self.bin is not None:
            return self.bin
        return system_bindir()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            args, check=True, capture_output=True, user="postgres" if _is_root() else None
        )

    def start(self) -> PrivatePostgres:
        data = self.workdir / "pgdata"
        if not (data / "PG_VERSION").exists():
            self.workdir.mkdir(parents=True, exist_ok=True)
            if _is_root():
                shutil.chown(self.workdir, "postgres", "postgres")
            self._run(
                str(self.bindir() / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            )
        self._run(
            str(self.bindir() / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(self.workdir / "pg.log"),
            "-o",
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir() / "pg_ctl"),
            "-D",
            str(self.workdir / "pgdata"),
            "-w",
            "-m",
            mode,
            "stop",
        )

    def restart(self) -> None:
        self.stop()
        self.start()


def system_bindir() -> Path:
    """The newest PostgreSQL server binaries installed under /usr/lib/postgresql."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    raise FileNotFoundError("no initdb under /usr/lib/postgresql/*/bin")


def private_install(root: Path, extra_extensions: dict[str, str]) -> Path:
    """A copy of the system's PostgreSQL binaries under ``root`` with an extension directory of its
    own holding ``extra_extensions`` (file name -> text) beside the system's; returns its bin dir.

    PostgreSQL finds its share directory relative to the running binary, so copied binaries read
    this private directory and the system's stays untouched.
    """
    system_bin = system_bindir()
    version = system_bin.parent.name
    system_share = Path("/usr/share/postgresql") / version
    bin_dir = root / "lib" / "postgresql" / version / "bin"
    shutil.copytree(system_bin, bin_dir, symlinks=True)
    (bin_dir.parent / "lib").symlink_to(system_bin.parent / "lib")
    share = root / "share" / "postgresql" / version
    share.mkdir(parents=True)
    for entry in system_share.iterdir():
        if entry.name != "extension":
            (share / entry.name).symlink_to(entry)
    extensions = share / "extension"
    extensions.mkdir()
    for entry in (system_share / "extension").iterdir():
        (extensions / entry.name).symlink_to(entry)
    for name, text in extra_extensions.items():
        (extensions / name).write_text(text)
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
    return bin_dir


def _is_root() -> bool:
    import os

    return os.geteuid() == 0
