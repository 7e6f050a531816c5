"""A real RabbitMQ broker for the AMQP tests: the session fixture ``rabbitmq``.

Debian's ``rabbitmq-server`` package (installed by ``scripts/provision-services.sh``) is run
without systemd and without the ``/usr/sbin`` wrapper (which switches to the rabbitmq user and
writes under /var): ``/usr/lib/rabbitmq/bin/rabbitmq-server`` is started directly, as root, in
its own process group, on free loopback ports, with its node name, Erlang cookie (``HOME``),
mnesia, logs and an empty plugin list all in a temporary directory. Its own ``epmd`` listens on
its own port, so nothing collides with another session or a system broker.

The broker can be killed (SIGKILL, the crash test) and started again on the same ports and the
same mnesia directory, so durable queues and persistent messages survive. At session end it is
stopped and its epmd told to quit. With no broker available the fixture fails when ``CI`` is set
and skips with the reason otherwise. The guest user may only connect from loopback; the broker
listens on 127.0.0.1 only, so ``url`` uses guest.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
EPMD = "epmd"
#: Seconds a (re)start may take until an AMQP connection succeeds (measured: ~3 s cold, ~2.5 s warm).
READY_DEADLINE_S = 60.0
#: Seconds a SIGTERM stop may take before the process group is SIGKILLed (measured: ~1-3 s).
STOP_DEADLINE_S = 20.0
PROVISION_HINT = "run scripts/provision-services.sh as root (apt-get install rabbitmq-server)"


def missing() -> str | None:
    """Why no broker can be started here, or None."""
    if importlib.util.find_spec("pika") is None:
        return "the pika package is not installed (pip install -e '.[test]')"
    if not (RABBITMQ_SERVER.is_file() and os.access(RABBITMQ_SERVER, os.X_OK)):
        return f"{RABBITMQ_SERVER} is missing: {PROVISION_HINT}"
    return None


def free_ports(count: int) -> list[int]:
    """*count* distinct ports free on 127.0.0.1 right now (all held open until all are chosen)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def amqp_ready(url: str, timeout_s: float = 2.0) -> bool:
    """True if an AMQP connection to *url* opens (handshake and login) now."""
    import pika
    from pika.exceptions import AMQPError

    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = timeout_s
    params.blocked_connection_timeout = timeout_s
    try:
        connection = pika.BlockingConnection(params)
    except (AMQPError, OSError):
        return False
    connection.close()
    return True


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class RabbitBroker:
    """One broker node of this session: its ports, directories and (while running) its process."""

    workdir: Path
    node_port: int
    dist_port: int
    epmd_port: int
    nodename: str
    process: subprocess.Popen[bytes] | None = None
    #: Seconds the last `start` took until AMQP answered.
    started_in_s: float = 0.0
    _log: Path = field(init=False)

    def __post_init__(self) -> None:
        self._log = self.workdir / "server.log"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.node_port}/%2F"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def env(self) -> dict[str, str]:
        """The broker's environment: the caller's, less any RABBITMQ_/ERL_ settings, plus ours."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        plugins = self.workdir / "enabled_plugins"
        if not plugins.exists():
            plugins.write_text("[].\n")
        conf_env = self.workdir / "rabbitmq-env.conf"  # instead of /etc/rabbitmq/rabbitmq-env.conf
        if not conf_env.exists():
            conf_env.write_text("")
        env.update({
            "HOME": str(self.workdir),  # the Erlang cookie goes here
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.node_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONF_ENV_FILE": str(conf_env),
            "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq"),  # absent: built-in defaults
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.workdir / "advanced.config"),  # absent too
        })
        return env

    def start(self) -> float:
        """Start the broker (same ports, same mnesia: a restart keeps durable data) and wait until
        an AMQP connection succeeds; returns the seconds that took."""
        if self.running:
            return 0.0
        began = time.monotonic()
        with self._log.open("ab") as log:
            self.process = subprocess.Popen([str(RABBITMQ_SERVER)], env=self.env(), cwd=self.workdir,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # own process group: kill() takes all
        deadline = began + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"rabbitmq-server exited with {code}: {self.log_tail()}")
            if _port_open(self.node_port) and amqp_ready(self.url):
                self.started_in_s = time.monotonic() - began
                return self.started_in_s
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"rabbitmq-server did not accept AMQP within {READY_DEADLINE_S:g}s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the broker's process group (a crash: no clean shutdown) and reap it."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(STOP_DEADLINE_S)

    def stop(self) -> None:
        """Stop the broker cleanly (SIGTERM to its group), SIGKILL after `STOP_DEADLINE_S`."""
        process = self.process
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)  # the script stops the node, beam stops too
        except ProcessLookupError:
            pass
        try:
            process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self.process = None

    def close(self) -> None:
        """Stop the broker and the epmd it started (epmd outlives the broker otherwise)."""
        self.stop()
        env = {**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)}
        try:
            subprocess.run([EPMD, "-kill"], env=env, capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            pass

    def log_tail(self, chars: int = 2000) -> str:
        texts = [self._log.read_text(errors="replace")] if self._log.exists() else []
        texts += [p.read_text(errors="replace") for p in sorted((self.workdir / "log").glob("*.log"))]
        return "\n".join(texts)[-chars:].strip() or "(empty log)"


def start_broker(workdir: Path) -> RabbitBroker:
    """A new broker node in *workdir*, started; raises `LookupError` if none can run here."""
    reason = missing()
    if reason:
        raise LookupError(reason)
    node_port, dist_port, epmd_port = free_ports(3)
    broker = RabbitBroker(workdir, node_port, dist_port, epmd_port,
                          nodename=f"das{os.getpid()}{uuid.uuid4().hex[:6]}@localhost")
    atexit.register(broker.close)  # also when the session ends abnormally
    broker.start()
    return broker


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitBroker]:
    """A real RabbitMQ broker on loopback for the session (``.url``, ``.kill()``, ``.start()``,
    ``.stop()``); fails when ``CI`` is set and there is none, skips otherwise."""
    try:
        broker = start_broker(tmp_path_factory.mktemp("rabbitmq"))
    except (LookupError, RuntimeError) as exc:
        reason = f"no RabbitMQ broker: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    print(f"\namqp tests: RabbitMQ ready in {broker.started_in_s:.1f}s at {broker.url}", file=sys.stderr)
    try:
        yield broker
    finally:
        broker.close()
