"""Several Rasa servers and action servers behind HAProxy, sharing one LLM server: the
shop's production shape on one machine, for ``scripts/run_cluster.sh``, the load
benchmark (``bench/load.py``), the fault suite (``bench/faults.py``) and
``tests/e2e/test_load_and_faults.py``.

    .venv/actions/bin/python -m bench.cluster [--rasa 2] [--actions 2] [--no-llm] [--endpoints FILE]
    .venv/actions/bin/python -m bench.cluster --write-config deploy/haproxy.cfg   # the default ports' config

Processes (ports are those of ``scripts/run_cluster.sh``; tests take free ones):

- HAProxy (``bench/haproxy.py``): the Rasa frontend (5005) and the action-server
  frontend (5055, loopback: only the Rasa processes call it);
- Rasa servers ``rasa1..`` (5105, 5106, ...), each ``rasa run`` with the endpoints file
  given (default ``bot/endpoints.production.yml``: PostgreSQL tracker store, Redis lock
  store, RabbitMQ broker; its variables come from the environment) and
  ``ACTION_SERVER_URL`` pointing at the action-server frontend;
- action servers ``actions1..`` (5155, 5156, ...), each ``python -m actions``, sharing the
  shop database, the search index and the model directory;
- one LLM supervisor and its llama-server (5077) that every action server uses, when
  ``SHOP_LLM_MODEL`` is a local model (``llamacpp/...``, the default) and not ``--no-llm``.

Every process is supervised: one that stops other than by exiting cleanly (a crash,
``kill -9``) is started again after
:data:`RESTART_DELAY_S`, as a service manager would (``Restart=always``); HAProxy takes
it out of rotation within about 1.5 s (a failed connection switches its health checks
to every 0.5 s; the request goes to another process) and back once it answers its
health check.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.haproxy import ERRORS_DIR, Admin, Backend, cluster_config
from shop.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venv" / "rasa" / "bin" / "rasa"
ACTIONS_PY = ROOT / ".venv" / "actions" / "bin" / "python"
PRODUCTION_ENDPOINTS = ROOT / "bot" / "endpoints.production.yml"
SHOP_MODEL = ROOT / "var" / "rasa-models" / "shop.tar.gz"
RESTART_DELAY_S = 1.0


def haproxy_missing() -> str | None:
    """Why HAProxy cannot run here (``None`` when it can)."""
    if shutil.which("haproxy") is None:
        return "HAProxy is not installed (Debian: apt-get install -y haproxy; make haproxy)"
    return None


@dataclass(frozen=True)
class ClusterPorts:
    """Where everything listens."""

    rasa_lb: int
    actions_lb: int
    rasa: tuple[int, ...]
    actions: tuple[int, ...]
    llm: int
    stats: int | None = None

    @classmethod
    def default(cls, rasa: int = 2, actions: int = 2) -> ClusterPorts:
        """The ports of ``scripts/run_cluster.sh``."""
        return cls(5005, 5055, tuple(5105 + k for k in range(rasa)), tuple(5155 + k for k in range(actions)),
                   5077, 8404)

    @classmethod
    def free(cls, rasa: int = 2, actions: int = 2) -> ClusterPorts:
        """Ports nothing listens on now (for tests)."""
        ports = free_ports(3 + rasa + actions)
        return cls(ports[0], ports[1], tuple(ports[3:3 + rasa]), tuple(ports[3 + rasa:]), ports[2])


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def rendered_default_config() -> str:
    """``deploy/haproxy.cfg``: the configuration for the default ports, run from the
    repository root (relative paths)."""
    ports = ClusterPorts.default()
    config = cluster_config(rasa=[Backend(f"rasa{k + 1}", p) for k, p in enumerate(ports.rasa)],
                            actions=[Backend(f"actions{k + 1}", p) for k, p in enumerate(ports.actions)],
                            rasa_bind=f"127.0.0.1:{ports.rasa_lb}", actions_bind=f"127.0.0.1:{ports.actions_lb}",
                            errors_dir="deploy/errors", admin_socket="unix@var/cluster/haproxy.sock",
                            stats_bind=f"127.0.0.1:{ports.stats}")
    return "# scripts/run_cluster.sh's ports; haproxy -f deploy/haproxy.cfg from the repository root.\n" + config


def http_ok(url: str, timeout_s: float = 2) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310  - loopback http only
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Member:
    """One supervised process."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    health_url: str | None
    cwd: Path = ROOT
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def spawn(self) -> None:
        with open(self.log, "ab") as out:  # the child keeps its own descriptor
            out.write(f"\n=== start {self.starts + 1} at {time.strftime('%H:%M:%S')}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        return self.alive() and (self.health_url is None or http_ok(self.health_url))

    def stop(self, timeout_s: float = 20) -> None:
        """Terminate it (then kill it after ``timeout_s``), and whatever it left running."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its group: workers or a server it left behind


class ClusterError(RuntimeError):
    """The cluster did not start; the message holds the logs' tails."""


@dataclass
class Cluster:
    """The processes of the module doc, started by :meth:`start`, stopped by :meth:`stop`.

    ``env``: what every process gets on top of this environment (without its ``SHOP_`` and
    ``RASA_`` variables): the deployment's settings (engines, secrets, shop database);
    ``rasa_cwd``/``model``/``credentials``: what the Rasa processes serve (the shop's, or
    the bare bot's of ``bench/bare_rasa.py`` with no action servers)."""

    workdir: Path
    ports: ClusterPorts
    env: dict[str, str]
    model: Path = SHOP_MODEL
    endpoints: Path = PRODUCTION_ENDPOINTS
    credentials: Path = ROOT / "bot" / "credentials.yml"
    rasa_cwd: Path = ROOT
    llm: bool = False
    rasa_api_token: str | None = None
    supervise: bool = True
    members: dict[str, Member] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The Rasa frontend (REST at ``/webhooks/rest/webhook``, socket.io at ``/socket.io``)."""
        return f"http://127.0.0.1:{self.ports.rasa_lb}"

    @property
    def admin(self) -> Admin:
        return Admin(self.workdir / "haproxy.sock")

    def process_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "RASA_"))}
        env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
                   ACTION_SERVER_URL=f"http://127.0.0.1:{self.ports.actions_lb}/webhook",
                   SHOP_LLM_SERVER_URL=f"http://127.0.0.1:{self.ports.llm}")
        env.update(self.env)
        env.update(extra)
        return env

    def _members(self) -> list[Member]:
        out: list[Member] = []
        logs = self.workdir
        if self.llm:
            out.append(Member("llm", [str(ACTIONS_PY), "-m", "apps.cli", "llm", "serve", "--pid-file",
                                      str(self.llm_pid_file), "--log", str(logs / "llm-server.log")],
                              self.process_env(LLM_PORT=str(self.ports.llm)), logs / "llm-supervisor.log",
                              f"http://127.0.0.1:{self.ports.llm}/health"))
        for k, port in enumerate(self.ports.actions):
            out.append(Member(f"actions{k + 1}", [str(ACTIONS_PY), "-m", "actions", "--port", str(port)],
                              self.process_env(), logs / f"actions{k + 1}.log", f"http://127.0.0.1:{port}/health"))
        for k, port in enumerate(self.ports.rasa):
            args = [str(RASA_BIN), "run", "--model", str(self.model), "--endpoints", str(self.endpoints),
                    "--credentials", str(self.credentials), "--interface", "127.0.0.1", "--port", str(port)]
            if self.rasa_api_token:
                args += ["--enable-api", "--auth-token", self.rasa_api_token]
            out.append(Member(f"rasa{k + 1}", args, self.process_env(SANIC_PROXIES_COUNT="1"),
                              logs / f"rasa{k + 1}.log", f"http://127.0.0.1:{port}/", cwd=self.rasa_cwd))
        config = self.workdir / "haproxy.cfg"
        config.write_text(self.haproxy_config(), encoding="utf-8")
        out.append(Member("haproxy", ["haproxy", "-db", "-f", str(config)], self.process_env(),
                          logs / "haproxy.log", None))
        return out

    def haproxy_config(self) -> str:
        p = self.ports
        return cluster_config(rasa=[Backend(f"rasa{k + 1}", port) for k, port in enumerate(p.rasa)],
                              actions=[Backend(f"actions{k + 1}", port) for k, port in enumerate(p.actions)],
                              rasa_bind=f"127.0.0.1:{p.rasa_lb}", actions_bind=f"127.0.0.1:{p.actions_lb}",
                              errors_dir=ERRORS_DIR, admin_socket=self.workdir / "haproxy.sock",
                              stats_bind=f"127.0.0.1:{p.stats}" if p.stats else None)

    @property
    def llm_pid_file(self) -> Path:
        return self.workdir / "llm-server.pid"

    def start(self, timeout_s: float = 600) -> Cluster:
        """:meth:`launch`, then :meth:`ready`."""
        return self.launch().ready(timeout_s)

    def launch(self) -> Cluster:
        """Start every process without waiting for them (see :meth:`ready`)."""
        reason = haproxy_missing()
        if reason:
            raise ClusterError(reason)
        if not self.model.is_file():
            raise ClusterError(f"{self.model} is missing (make train)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for member in self._members():
            self.members[member.name] = member
            member.spawn()
        return self

    def ready(self, timeout_s: float = 600) -> Cluster:
        """Wait until the launched cluster is healthy (or stop it and raise
        :class:`ClusterError`), then supervise it."""
        try:
            self.wait_healthy(timeout_s)
        except ClusterError:
            self.stop()
            raise
        if self.supervise:
            self._watcher = threading.Thread(target=self._watch, name="cluster-supervisor", daemon=True)
            self._watcher.start()
        return self

    def wait_healthy(self, timeout_s: float) -> None:
        """Until every process answers its health check and HAProxy has every server up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            dead = [m.name for m in self.members.values() if not m.alive()]
            if dead and self._watcher is None:  # starting, or nobody restarts them
                raise ClusterError(f"exited: {', '.join(dead)}\n{self.logs()}")
            if not dead and all(m.healthy() for m in self.members.values()) and self.all_up():
                return
            time.sleep(1)
        raise ClusterError(f"not healthy within {timeout_s:.0f} s: {self.unhealthy()}\n{self.logs()}")

    def unhealthy(self) -> list[str]:
        return [m.name for m in self.members.values() if not m.healthy()]

    def all_up(self) -> bool:
        try:
            states = self.admin.servers()
        except OSError:
            return False
        return bool(states) and all(s.startswith("UP") and "/" not in s for s in states.values())

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for member in list(self.members.values()):
                # a clean exit (0) is meant (the LLM supervisor with no local model); a crash or kill is not
                if member.proc is not None and member.proc.poll() not in (None, 0) and not self._stopping.is_set():
                    time.sleep(RESTART_DELAY_S)
                    if not self._stopping.is_set():
                        member.spawn()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` (default ``SIGKILL``) to member ``name`` and every process it
        started (its process group: an action server's Sanic workers die with it); its
        pid. The supervisor starts it again."""
        member = self.members[name]
        pid = member.pid
        if pid is None:
            raise ClusterError(f"{name} is not running")
        os.killpg(pid, sig)  # each member leads its own session, so its group id is its pid
        return pid

    def kill_llm_server(self) -> int:
        """``kill -9`` the llama-server itself (its supervisor starts it again); its pid."""
        pid = int(self.llm_pid_file.read_text().strip())
        os.kill(pid, signal.SIGKILL)
        return pid

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each member and the processes it started (Sanic's
        workers, llama-server) have used so far, by member name."""
        ticks = os.sysconf("SC_CLK_TCK")
        parent: dict[int, int] = {}
        used: dict[int, float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            pid = int(stat.parent.name)
            parent[pid] = int(fields[1])
            used[pid] = (int(fields[11]) + int(fields[12])) / ticks
        out: dict[str, float] = {}
        for name, member in self.members.items():
            root = member.pid
            total = 0.0
            for pid, seconds in used.items():
                p = pid
                while p > 1 and p != root:
                    p = parent.get(p, 0)
                if p == root:
                    total += seconds
            out[name] = total
        return out

    def logs(self, lines: int = 30) -> str:
        out = []
        for log in sorted(self.workdir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        for member in reversed(list(self.members.values())):  # the load balancer first
            member.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rasa", type=int, default=2, help="Rasa processes (default 2)")
    parser.add_argument("--actions", type=int, default=2, help="action-server processes (default 2)")
    parser.add_argument("--no-llm", action="store_true",
                        help="no LLM server (by default one runs when SHOP_LLM_MODEL is a local llamacpp/ model)")
    parser.add_argument("--endpoints", type=Path, default=PRODUCTION_ENDPOINTS)
    parser.add_argument("--model", type=Path, default=SHOP_MODEL)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--lb-port", type=int, default=5005, help="the Rasa frontend's port (default 5005)")
    parser.add_argument("--write-config", type=Path, metavar="FILE",
                        help="only write the default ports' HAProxy configuration to FILE")
    args = parser.parse_args()
    if args.write_config:
        args.write_config.write_text(rendered_default_config(), encoding="utf-8")
        print(f"wrote {args.write_config}")
        return 0
    if args.rasa < 1 or args.actions < 1:
        parser.error("--rasa and --actions must be at least 1")
    default = ClusterPorts.default(args.rasa, args.actions)
    ports = ClusterPorts(args.lb_port, default.actions_lb, default.rasa, default.actions, default.llm, default.stats)
    shop_env = {k: v for k, v in os.environ.items() if k.startswith(("SHOP_", "RASA_"))}
    llm = not args.no_llm and get_settings().llm_model.startswith("llamacpp/")
    cluster = Cluster(workdir=args.workdir, ports=ports, env=shop_env, model=args.model, endpoints=args.endpoints,
                      llm=llm)
    print(f"starting {args.rasa} Rasa and {args.actions} action servers behind HAProxy (logs in {args.workdir}) ...",
          flush=True)
    try:
        cluster.start()
    except ClusterError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"\nShop assistant cluster is running.\n  Rasa (REST, socket.io) through HAProxy: {cluster.url}\n"
          f"  action servers through HAProxy (loopback): http://127.0.0.1:{ports.actions_lb}/webhook\n"
          f"  HAProxy statistics: http://127.0.0.1:{ports.stats}/\nPress Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
