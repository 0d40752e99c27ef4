"""A local Label Studio server for development, tests and the demo.

Label Studio pins packages that Prefect cannot share (see deploy/README.md), so the server runs
from its own virtual environment (`.venv-labelstudio`, made by scripts/setup.sh), bound to
127.0.0.1, with SQLite and its data directory inside the run directory. The admin user and its
API token come from the environment on the data directory's first start: the legacy token is
only accepted when it was enabled then. Start-up waits for `/health` on the exact port, since
Label Studio silently moves to another port when the asked one is busy.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PID_FILE = "server.pid"
LOG_FILE = "server.log"
# Fresh data directory: 44-52 s of migrations on 2 cores; a restart takes ~6 s.
START_TIMEOUT_S = 240.0


class ServerError(RuntimeError):
    """The server could not be started, reached or stopped; the message says what to do."""


def default_executable() -> Path:
    """`label-studio` of the project's server venv, or $CURATE_LABEL_STUDIO_BIN."""
    env = os.environ.get("CURATE_LABEL_STUDIO_BIN")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".venv-labelstudio" / "bin" / "label-studio"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class LabelStudioServer:
    data_dir: Path
    username: str
    password: str = field(repr=False)
    token: str = field(repr=False)  # never logged or printed
    port: int = 8080
    host: str = "127.0.0.1"
    executable: Path = field(default_factory=default_executable)
    webhooks_to_loopback: bool = False  # SSRF protection refuses 127.0.0.1 receivers otherwise

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def healthy(self, timeout_s: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout_s) as r:
                return json.loads(r.read() or b"{}").get("status") == "UP"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LABEL_STUDIO_"))}
        env.update({
            "DJANGO_DB": "sqlite", "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "LABEL_STUDIO_USERNAME": self.username, "LABEL_STUDIO_PASSWORD": self.password,
            "LABEL_STUDIO_USER_TOKEN": self.token, "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
            "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
        })
        if self.webhooks_to_loopback:
            env["SSRF_PROTECTION_ENABLED"] = "false"
        return env

    def start(self, timeout_s: float = START_TIMEOUT_S,
              waiting: Callable[[float], None] | None = None) -> "LabelStudioServer":
        """Start and wait until healthy (`waiting` is told the seconds waited, about once a second: a
        first start migrates a new database for most of a minute); a healthy server is reused."""
        if self.healthy():
            return self
        if not self.executable.is_file():
            raise ServerError(f"Label Studio is not installed at {self.executable}: run `bash scripts/setup.sh` "
                              "(it creates .venv-labelstudio) or set CURATE_LABEL_STUDIO_BIN")
        if not port_is_free(self.host, self.port):
            raise ServerError(f"port {self.port} on {self.host} is taken by something that is not a healthy "
                              "Label Studio; choose another port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / LOG_FILE, "ab")
        proc = subprocess.Popen(
            [str(self.executable), "start", "--no-browser", "--internal-host", self.host, "--port", str(self.port)],
            env=self._env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() takes its children too
        )
        log.close()
        (self.data_dir / PID_FILE).write_text(str(proc.pid))
        started = time.monotonic()
        while time.monotonic() < started + timeout_s:
            if proc.poll() is not None:
                raise ServerError(f"Label Studio exited with {proc.returncode} during start-up:\n{self.log_tail()}")
            if self.healthy():
                return self
            if waiting is not None:
                waiting(time.monotonic() - started)
            time.sleep(1.0)
        self.stop()
        raise ServerError(f"Label Studio not healthy on {self.url} after {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop the server this data directory's pid file names; False when none was running."""
        pid_file = self.data_dir / PID_FILE
        if not pid_file.is_file():
            return False
        pid = int(pid_file.read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pid_file.unlink(missing_ok=True)
            return False
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 20) -> str:
        path = self.data_dir / LOG_FILE
        text = path.read_text(errors="replace") if path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:]).replace(self.token, "***").replace(self.password, "***")

    def __enter__(self) -> "LabelStudioServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as stopped
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


CREDENTIALS = "credentials.json"
ADDRESS = "server.json"  # the port the server of a data directory was last started on
DEFAULT_PORT = 8080


def remember_port(data_dir: str | Path, port: int) -> None:
    """Later commands on this data directory find the server without being told its port again."""
    path = Path(data_dir).resolve() / ADDRESS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"port": port}) + "\n")


def remembered_port(data_dir: str | Path) -> int:
    path = Path(data_dir).resolve() / ADDRESS
    try:
        return int(json.loads(path.read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_PORT


def local_server(data_dir: str | Path, port: int | None = None) -> LabelStudioServer:
    """A server for `data_dir` with credentials from $CURATE_LS_USERNAME / _PASSWORD / _TOKEN, or,
    where unset, ones generated once and kept in the data directory (mode 0600), never printed.
    Without `port`, the one it was last started on (`remember_port`), else 8080."""
    import secrets

    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = remembered_port(data_dir) if port is None else port
    path = data_dir / CREDENTIALS
    saved = json.loads(path.read_text()) if path.is_file() else {}
    creds = {
        "username": os.environ.get("CURATE_LS_USERNAME") or saved.get("username") or "admin@curate.local",
        "password": os.environ.get("CURATE_LS_PASSWORD") or saved.get("password") or secrets.token_urlsafe(16),
        "token": os.environ.get("CURATE_LS_TOKEN") or saved.get("token") or secrets.token_hex(20),
    }
    if creds != saved:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(creds, f)
    return LabelStudioServer(data_dir / "data", port=port, **creds)
