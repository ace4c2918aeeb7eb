"""The deployment files (deploy/compose.yml, deploy/docker/, .dockerignore): the stack's
services with health checks, only the proxy publishing ports, the analytics consumer on
the Rasa servers' queue (its health check run against a real RabbitMQ: healthy only while
the queue has a consumer), secrets from env/.env and
never in an image, `docker compose config` on the real CLI when this machine has one
(v2 plugin, else v1's docker-compose; skipped saying so otherwise), the load balancer's
configuration checked and run by a real HAProxy against stand-in servers (skipped
without HAProxy), and the LLM image's entry point with a stand-in llama-server.

No image is built here: building needs a Docker engine (docs/production.md says how)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import httpx
import pika
import pytest
import yaml

from models.llm.weights import spec_for
from tests.paths import ROOT
from tests.production_stack import AMQP_HOST, AMQP_PASSWORD, AMQP_PORT, AMQP_USER, rabbitmq_missing

DEPLOY = ROOT / "deploy"
DOCKER = DEPLOY / "docker"
COMPOSE = DEPLOY / "compose.yml"
NEW_ENV = DOCKER / "new_env.sh"
DOCKERFILES = ("rasa", "actions", "llm", "web")
#: the long-running services and the one-off jobs (profile "setup")
SERVICES = {"rasa-1", "rasa-2", "actions-1", "actions-2", "llm", "storefront", "console", "analytics", "haproxy",
            "postgres", "redis", "rabbitmq"}
JOBS = {"setup", "rasa-train"}
#: what a process of the shop must never get from an image: these come from env/.env
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASS\b|API_KEY|AUTH")


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _new_env(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(NEW_ENV), *args], cwd=tmp_path, capture_output=True, text=True, check=False)


def _env_values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


# --- the compose file, as written -------------------------------------------------------


def test_the_whole_stack_is_there(compose: dict) -> None:
    assert set(compose["services"]) == SERVICES | JOBS
    for job in JOBS:
        assert compose["services"][job]["profiles"] == ["setup"], f"{job} must not start with `up`"
    for name in SERVICES:
        assert "profiles" not in compose["services"][name]


def test_every_service_has_a_health_check_and_restarts(compose: dict) -> None:
    for name in SERVICES:
        service = compose["services"][name]
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service["restart"] == "unless-stopped", name


def test_only_the_proxy_publishes_ports(compose: dict) -> None:
    publishing = {name for name, s in compose["services"].items() if s.get("ports")}
    assert publishing == {"haproxy"}
    assert all(s.get("network_mode") != "host" for s in compose["services"].values())
    targets = sorted(str(p).rsplit(":", 1)[-1] for p in compose["services"]["haproxy"]["ports"])
    assert targets == ["8080", "8443"]  # the public frontend: http (redirect) and TLS, nothing private
    assert compose["networks"]["private"]["internal"] is True
    # no way out for the data services and the LLM; Rasa and the action servers also sit
    # on the edge network (messaging apps, commerce platforms)
    for name in ("postgres", "redis", "rabbitmq", "llm", "storefront", "console", "analytics"):
        assert compose["services"][name]["networks"] == ["private"], name


def test_rasa_and_actions_run_twice_on_the_production_engines(compose: dict) -> None:
    services = compose["services"]
    for name in ("rasa-1", "rasa-2"):
        env = services[name]["environment"]
        assert env["SHOP_DEPLOYMENT"] == "production"
        assert env["ACTION_SERVER_URL"] == "http://haproxy:5055/webhook"
        assert env["RASA_TRACKER_URL"].startswith("postgresql://") and env["RASA_LOCK_STORE_HOST"] == "redis"
        assert env["RASA_BROKER_HOST"] == "rabbitmq" and env["SANIC_WORKERS"] == "1"
        assert services[name]["volumes"] == ["rasa-models:/srv/ridgeline/var/rasa-models:ro"]
    # every variable bot/endpoints.production.yml reads is set for the Rasa servers
    endpoints = (ROOT / "bot" / "endpoints.production.yml").read_text()
    needed = set(re.findall(r"^\s*[a-z_]+:\s*\$\{([A-Z_]+)\}", endpoints, flags=re.M))
    assert needed and needed <= set(services["rasa-1"]["environment"])
    for name in ("actions-1", "actions-2"):
        env = services[name]["environment"]
        assert env["SHOP_ACTION_HOST"] == "0.0.0.0" and env["DATABASE_URL"]  # noqa: S104 - the private network.startswith("postgresql+psycopg://")
        assert env["SHOP_LLM_SERVER_URL"] == "http://llm:5077"
        assert "search-index:/srv/ridgeline/var/index" in services[name]["volumes"]


def test_the_analytics_consumer_reads_the_rasa_servers_queue(compose: dict) -> None:
    services = compose["services"]
    analytics, rasa = services["analytics"], services["rasa-1"]["environment"]
    env = analytics["environment"]
    assert analytics["command"] == ["python", "-m", "apps.cli", "analytics", "consume"]
    assert analytics["image"] == services["actions-1"]["image"]  # the shop's command line, pika included
    # the queue Rasa's broker fills, bound to its exchange (events published first wait there)
    assert env["SHOP_ANALYTICS_QUEUE"] == rasa["RASA_BROKER_QUEUE"]
    assert env["SHOP_ANALYTICS_EXCHANGE"] == rasa["RASA_BROKER_EXCHANGE"]
    user, password = rasa["RASA_BROKER_USERNAME"], rasa["RASA_BROKER_PASSWORD"]
    assert env["SHOP_ANALYTICS_AMQP_URL"].startswith(f"amqp://{user}:${{RABBITMQ_PASSWORD")
    assert env["SHOP_ANALYTICS_AMQP_URL"].endswith(f"@{rasa['RASA_BROKER_HOST']}:{rasa['RASA_BROKER_PORT']}/%2F")
    assert password.startswith("${RABBITMQ_PASSWORD")
    assert env["DATABASE_URL"] == services["actions-1"]["environment"]["DATABASE_URL"]  # the dashboard's tables
    assert analytics["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                       "rabbitmq": {"condition": "service_healthy"}}
    assert analytics["healthcheck"]["test"] == ["CMD", "python", "deploy/docker/analytics_health.py"]
    # the health check is in the image it runs in
    actions = (DOCKER / "actions.Dockerfile").read_text()
    assert re.search(r"^COPY .*deploy/docker/analytics_health\.py .*deploy/docker/$", actions, flags=re.M)


def _analytics_health(amqp_url: str, queue: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(PYTHONPATH=str(ROOT), SHOP_ANALYTICS_AMQP_URL=amqp_url, SHOP_ANALYTICS_QUEUE=queue)
    return subprocess.run([sys.executable, str(DOCKER / "analytics_health.py")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_analytics_health_check_wants_a_consumer_on_the_queue() -> None:
    reason = rabbitmq_missing()
    if reason:
        pytest.skip(reason)
    url = f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}:{AMQP_PORT}/%2F"
    queue = f"analytics_health_{uuid.uuid4().hex[:10]}"
    missing = _analytics_health(url, queue)
    assert missing.returncode == 1 and f"no queue '{queue}'" in missing.stderr, missing.stderr
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.queue_declare(queue=queue, durable=True)
        idle = _analytics_health(url, queue)
        assert idle.returncode == 1 and "has no consumer" in idle.stderr, idle.stderr
        channel.basic_consume(queue=queue, on_message_callback=lambda *_: None)
        connection.process_data_events(time_limit=0.2)
        healthy = _analytics_health(url, queue)
        assert healthy.returncode == 0, healthy.stderr
        channel.queue_delete(queue=queue)
    finally:
        connection.close()
    # a RabbitMQ that does not answer, or refuses the password: unhealthy, the password never shown
    for bad in (f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@127.0.0.1:1/%2F", f"amqp://{AMQP_USER}:wrong-secret@"
                                                                     f"{AMQP_HOST}:{AMQP_PORT}/%2F"):
        down = _analytics_health(bad, queue)
        assert down.returncode == 1 and "refused us or did not answer" in down.stderr, down.stderr
        assert "wrong-secret" not in down.stderr


def test_secrets_come_from_env_at_run_time_never_from_images(compose: dict) -> None:
    for name, service in compose["services"].items():
        build_args = (service.get("build") or {}).get("args") or {}
        assert not [k for k in build_args if SECRET_NAME.search(k)], name
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and key != "REDISCLI_AUTH":
                assert "${" in str(value), f"{name}: {key} is written into the compose file"
    assert compose["services"]["llm"].get("env_file") is None  # the LLM server needs no secret
    for name in DOCKERFILES:
        text = (DOCKER / f"{name}.Dockerfile").read_text()
        for line in text.splitlines():
            if line.startswith(("ENV ", "ARG ")) or line.startswith("    ") and "=" in line:
                assert not SECRET_NAME.search(line.split("=")[0]), f"{name}.Dockerfile: {line}"
        sources = [word for line in text.splitlines() if line.startswith("COPY ") and "--from=" not in line
                   for word in line.split()[1:-1]]
        assert sources and not [s for s in sources if s.startswith(("env", "var", ".env", "."))], sources
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for pattern in ("env/", "var/", "**/.env", ".venv/", ".git/"):
        assert pattern in ignored


def test_dockerfiles_use_the_locks_and_the_portable_llama_build() -> None:
    rasa = (DOCKER / "rasa.Dockerfile").read_text()
    assert "python:3.10-slim" in rasa and "--no-deps -r /tmp/env/rasa.lock.txt" in rasa
    actions = (DOCKER / "actions.Dockerfile").read_text()
    assert "python:3.11-slim" in actions and "install_actions_env.sh" in actions
    install = (DOCKER / "install_actions_env.sh").read_text()
    assert "+cpu" in install and "--index-url" in install and "--no-deps -r" in install
    llm = (DOCKER / "llm.Dockerfile").read_text()
    assert "scripts/build_llama.sh" in llm and "requirements/llama-cpp.cmake" in llm
    assert "GGML_NATIVE=OFF" in llm and "GGML_NATIVE=ON" not in llm and "march=native" not in llm
    web = (DOCKER / "web.Dockerfile").read_text()
    assert "npm ci" in web and "COPY --from=widget" in web
    # the environment stage of the actions and web images is the same (shared layers)
    stage = re.compile(r"FROM \$\{PYTHON_IMAGE\} AS env\n(.*?)\n\n", re.S)
    assert stage.search(actions) and stage.search(web)
    def instructions(text: str) -> list[str]:
        return [line for line in stage.search(text).group(1).splitlines() if not line.startswith("#")]  # type: ignore[union-attr]
    assert instructions(actions) == instructions(web)


# --- env/.env: made by new_env.sh ----------------------------------------------------------


def _security_secrets() -> list[str]:
    """Every variable of docs/security.md's Secrets table."""
    text = (ROOT / "docs" / "security.md").read_text()
    table = text.split("## Secrets", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`(SHOP_[A-Z_]+)`", row.split("|")[1])]


def test_new_env_writes_every_secret_once_mode_600(tmp_path: Path) -> None:
    done = _new_env(tmp_path, "shop.example.com", "console.example.com")
    assert done.returncode == 0, done.stderr
    path = tmp_path / "env" / ".env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = _env_values(path)
    secrets = {k: v for k, v in values.items() if SECRET_NAME.search(k)}
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in secrets.values()), secrets
    assert len(set(secrets.values())) == len(secrets)  # no two alike
    text = path.read_text()
    for name in _security_secrets():  # set, or a commented line to fill in for an optional channel
        assert re.search(rf"^#?{name}=", text, flags=re.M), f"{name} (docs/security.md) is not in env/.env"
    assert values["SHOP_WIDGET_ORIGINS"] == "https://shop.example.com"
    again = _new_env(tmp_path, "shop.example.com", "console.example.com")
    assert again.returncode == 1 and "exists" in again.stderr
    assert _env_values(path) == values  # the secrets in use are never replaced


@pytest.mark.parametrize("hosts", [("shop.example.com\nSHOP_ACTION_TOKEN=x", "c.example.com"),
                                   ("shop.example.com", "c.example.com;rm -rf /"),
                                   ("https://shop.example.com", "c.example.com"),
                                   ("same.example.com", "same.example.com"), ("only-one",)])
def test_new_env_refuses_what_is_not_a_host_name(tmp_path: Path, hosts: tuple[str, ...]) -> None:
    done = _new_env(tmp_path, *hosts)
    assert done.returncode == 2, done.stderr
    assert not (tmp_path / "env" / ".env").exists()


def test_docs_list_every_secret_and_where_it_goes() -> None:
    docs = (ROOT / "docs" / "production.md").read_text()
    section = docs.split("## Deployment with Docker Compose", 1)[1]
    for name in [*_security_secrets(), "POSTGRES_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD"]:
        assert f"`{name}`" in section, f"docs/production.md does not say where {name} goes"


# --- `docker compose config` on the real CLI ------------------------------------------------


def _compose_cli() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.skip("neither `docker compose` (the v2 plugin) nor docker-compose is installed: the compose file is "
                "checked only as YAML here")


def _compose_config(cli: list[str], env_file: Path, tls: Path) -> subprocess.CompletedProcess[str]:
    # a clean environment: a variable set in the caller's shell would win over the file
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(env_file.parent),
           "SHOP_ENV_FILE": str(env_file), "SHOP_TLS_DIR": str(tls)}
    return subprocess.run([*cli, "--env-file", str(env_file), "-f", str(COMPOSE), "config"],
                          capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=120)


def test_docker_compose_config_accepts_the_stack(tmp_path: Path) -> None:
    cli = _compose_cli()
    assert _new_env(tmp_path, "shop.example.com", "console.example.com").returncode == 0
    done = _compose_config(cli, tmp_path / "env" / ".env", tmp_path / "env" / "tls")
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    services = resolved["services"]
    assert set(services) >= SERVICES
    assert {name for name, s in services.items() if s.get("ports")} == {"haproxy"}
    published = sorted(int(p["published"]) for p in services["haproxy"]["ports"])
    assert published == [80, 443]
    for name in SERVICES:
        assert services[name]["healthcheck"]["test"], name
    values = _env_values(tmp_path / "env" / ".env")
    rasa = services["rasa-1"]["environment"]
    assert rasa["SHOP_ACTION_TOKEN"] == values["SHOP_ACTION_TOKEN"]
    assert rasa["RASA_BROKER_PASSWORD"] == values["RABBITMQ_PASSWORD"]
    assert services["actions-2"]["environment"]["SHOP_REDIS_URL"] == f"redis://:{values['REDIS_PASSWORD']}@redis:6379/0"
    assert services["haproxy"]["environment"]["SHOP_CONSOLE_HOST"] == "console.example.com"
    assert services["analytics"]["environment"]["SHOP_ANALYTICS_AMQP_URL"] == \
        f"amqp://shop:{values['RABBITMQ_PASSWORD']}@rabbitmq:5672/%2F"


@pytest.mark.parametrize("missing", ["SHOP_ACTION_TOKEN", "POSTGRES_PASSWORD", "SHOP_CONSOLE_HOST"])
def test_docker_compose_config_names_a_missing_secret(tmp_path: Path, missing: str) -> None:
    cli = _compose_cli()
    assert _new_env(tmp_path, "shop.example.com", "console.example.com").returncode == 0
    path = tmp_path / "env" / ".env"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith(missing + "=")))
    done = _compose_config(cli, path, tmp_path / "env" / "tls")
    assert done.returncode != 0
    assert missing in done.stderr


# --- the load balancer --------------------------------------------------------------------


def test_the_haproxy_config_is_rendered_from_the_cluster_generator() -> None:
    render = _load(DOCKER / "render_haproxy.py")
    assert (DOCKER / "haproxy.cfg").read_text() == render.render(), \
        "deploy/docker/haproxy.cfg is stale: PYTHONPATH=. .venv/actions/bin/python deploy/docker/render_haproxy.py"


class _Echo(BaseHTTPRequestHandler):
    """A stand-in for one server behind the proxy: says who it is and what it got."""

    def _answer(self) -> None:
        body = json.dumps({"server": self.server.name, "path": self.path,  # type: ignore[attr-defined]
                           "xff": ",".join(self.headers.get_all("X-Forwarded-For") or []),
                           "proto": self.headers.get("X-Forwarded-Proto")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


class _Quiet(ThreadingHTTPServer):
    """HAProxy's health checks hang up early: not worth a traceback."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[dict[int, int]]:
    """deploy/docker/haproxy.cfg run by a real HAProxy on loopback: the compose services'
    names and the container ports replaced by stand-in servers and free ports."""
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (Debian: apt-get install -y haproxy)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test's TLS certificate)")
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=shop.example.com", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "crt.pem")],
                   check=True, capture_output=True)
    (certs / "shop.pem").write_text((tmp_path / "crt.pem").read_text() + (tmp_path / "key.pem").read_text())
    shutil.copytree(DEPLOY / "errors", tmp_path / "errors")
    config = (DOCKER / "haproxy.cfg").read_text().replace("/usr/local/etc/haproxy/", f"{tmp_path}/")
    servers = []
    for name in ("rasa-1", "rasa-2", "actions-1", "actions-2", "storefront", "console"):
        server = _Quiet(("127.0.0.1", 0), _Echo)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        config = re.sub(rf"\b{name}:\d+", f"127.0.0.1:{server.server_address[1]}", config)
    ports = {}
    for inside in (8443, 8080, 8404, 5005, 5055):
        ports[inside] = _free_port()
        config = config.replace(f"bind :{inside}", f"bind 127.0.0.1:{ports[inside]}")
    (tmp_path / "haproxy.cfg").write_text(config)
    proc = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
                            env={**os.environ, "SHOP_CONSOLE_HOST": "console.example.com"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{ports[8404]}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "haproxy exited"
            assert time.monotonic() < deadline, "haproxy did not start"
            time.sleep(0.1)
        time.sleep(2.5)  # the first health checks (inter 1s/2s, rise 2) mark the stand-ins up
        yield ports
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for server in servers:
            server.shutdown()


def _get(ports: dict[int, int], path: str, host: str = "shop.example.com", **headers: str) -> httpx.Response:
    """``GET path`` on the public TLS frontend for ``host`` (``headers``: ``X_Forwarded_For=...``)."""
    sent = {"Host": host, **{name.replace("_", "-"): value for name, value in headers.items()}}
    with httpx.Client(verify=False, timeout=5) as client:  # noqa: S501 - the test's own self-signed certificate
        return client.get(f"https://127.0.0.1:{ports[8443]}{path}", headers=sent)


def test_the_proxy_routes_the_shop_the_widget_and_the_console(proxy: dict[int, int]) -> None:
    assert _get(proxy, "/").json()["server"] == "storefront"
    assert _get(proxy, "/products/trail-boots").json()["server"] == "storefront"
    rest = _get(proxy, "/webhooks/rest/webhook").json()
    assert rest["server"] in ("rasa-1", "rasa-2") and rest["proto"] == "https"
    assert rest["xff"] == "127.0.0.1"  # the shopper's address, for the per-client rate limit
    assert _get(proxy, "/", host="console.example.com").json()["server"] == "console"
    assert _get(proxy, "/api/handoffs", host="console.example.com:443").json()["server"] == "console"
    # the widget's socket.io session sticks to the Rasa process that holds it
    first = _get(proxy, "/socket.io/?EIO=4&transport=polling")
    assert first.json()["server"] in ("rasa-1", "rasa-2") and "SHOPRASA" in first.cookies
    for _ in range(6):
        again = _get(proxy, "/socket.io/?EIO=4&transport=polling", Cookie=f"SHOPRASA={first.cookies['SHOPRASA']}")
        assert again.json()["server"] == first.json()["server"]
    # plain http only redirects
    with httpx.Client(timeout=5) as client:
        plain = client.get(f"http://127.0.0.1:{proxy[8080]}/", headers={"Host": "shop.example.com"})
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://shop.example.com/")
    # the private frontends: the Rasa processes call the action servers, the console the relay
    with httpx.Client(timeout=5) as client:
        assert client.post(f"http://127.0.0.1:{proxy[5055]}/webhook").json()["server"].startswith("actions-")
        relay = client.post(f"http://127.0.0.1:{proxy[5005]}/webhooks/agent/send").json()
        assert relay["server"].startswith("rasa-")


def test_the_proxy_never_exposes_metrics_or_the_relay(proxy: dict[int, int]) -> None:
    for host in ("shop.example.com", "console.example.com"):
        for path in ("/metrics", "/metrics/", "/metrics?x=1", "/webhooks/agent/send"):
            denied = _get(proxy, path, host=host)
            assert denied.status_code == 404, (host, path)
            assert "server" not in denied.text
    # a look-alike host name is not the console
    assert _get(proxy, "/", host="console.example.com.evil.example").json()["server"] == "storefront"
    # a forged X-Forwarded-For (or Forwarded) never reaches the servers: only the address the proxy saw
    forged = _get(proxy, "/webhooks/rest/webhook", X_Forwarded_For="203.0.113.9", Forwarded="for=203.0.113.9").json()
    assert forged["xff"] == "127.0.0.1"


# --- the LLM image's entry point ---------------------------------------------------------


SERVE = DOCKER / "llm_serve.py"
SMALL = "smollm2-135m-instruct-q4_1"


def _stand_in_llama_server(tmp_path: Path) -> Path:
    """An executable that answers ``GET /health`` where llama-server would listen, and
    records its command line."""
    path = tmp_path / "llama-server"
    path.write_text(f"""#!{sys.executable}
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
args = sys.argv[1:]
opt = dict(zip(args[::2], args[1::2]))
open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(args))
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'{{"status": "ok"}}')
    def log_message(self, *a): pass
HTTPServer((opt['--host'], int(opt['--port'])), H).serve_forever()
""")
    path.chmod(0o755)
    return path


def _weights(tmp_path: Path) -> Path:
    """A (sparse) file of the small model's exact size: the supervisor checks the size."""
    folder = tmp_path / "llm"
    folder.mkdir()
    with open(folder / spec_for(SMALL).filename, "wb") as f:
        f.truncate(spec_for(SMALL).size_bytes)
    return folder


def test_llm_entry_point_serves_under_the_supervisor(tmp_path: Path) -> None:
    port = _free_port()
    binary, weights = _stand_in_llama_server(tmp_path), _weights(tmp_path)
    proc = subprocess.Popen([sys.executable, str(SERVE), "--binary", str(binary), "--weights-dir", str(weights),
                             "--model", SMALL, "--host", "127.0.0.1", "--port", str(port), "--threads", "2",
                             "--slots", "3"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "argv.json").exists() or not _answers(port):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the stand-in server never answered"
            time.sleep(0.2)
        argv = json.loads((tmp_path / "argv.json").read_text())
        opts = dict(zip(argv[::2], argv[1::2], strict=False))
        assert opts["--host"] == "127.0.0.1" and opts["--port"] == str(port)
        assert opts["--threads"] == "2" and opts["--parallel"] == "3" and opts["--alias"] == SMALL
        assert opts["--model"] == str(weights / spec_for(SMALL).filename)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0  # SIGTERM (docker stop) ends the supervisor and its server
    assert not _answers(port)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_llm_entry_point_without_weights_names_the_setup_job(tmp_path: Path) -> None:
    (tmp_path / "llm").mkdir()
    done = subprocess.run([sys.executable, str(SERVE), "--binary", str(_stand_in_llama_server(tmp_path)),
                           "--weights-dir", str(tmp_path / "llm"), "--model", SMALL],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "run --rm setup" in done.stderr and f"llm fetch {SMALL}" in done.stderr
    assert not list((tmp_path / "llm").iterdir())  # nothing downloaded, nothing half-written


@pytest.mark.parametrize("bad", [["--port", "0"], ["--port", "70000"], ["--slots", "0"], ["--threads", "-1"],
                                 ["--model", "../../etc/passwd"]])
def test_llm_entry_point_refuses_bad_arguments(tmp_path: Path, bad: list[str]) -> None:
    done = subprocess.run([sys.executable, str(SERVE), "--binary", "/bin/true", "--weights-dir", str(tmp_path),
                           *bad], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "error:" in done.stderr
