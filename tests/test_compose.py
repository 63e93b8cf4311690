"""docker-compose.yml, .env.example, Dockerfile and docker/ checked without Docker: Docker cannot run
where the tests run, so the compose file is parsed and every reference in it is checked against the
repository (commands, config files, bind mounts, volumes, variables). `docker compose config` (or
the standalone `docker-compose config`) also validates it when such a client is installed."""

from __future__ import annotations

import configparser
import importlib
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import luigi
import yaml

from lake.config import Settings
from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
APP = "/app"  # the repository's place in the image (Dockerfile WORKDIR)
OUR_IMAGE_SERVICES = {"luigid", "worker", "jupyter"}  # built from the Dockerfile
LAKE_SERVICES = {"worker", "jupyter"}  # run lake code: their environment is lake/config.py's
REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.IGNORECASE)


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example line without '=': {line!r}"
            values[name.strip()] = value.strip()
    return values


def config_variables() -> set[str]:
    """The variables lake/config.py reads: `_get(env, "NAME")`, and the NIGHTSCOUT_/LAKE_ names it
    passes around as strings (error messages name them)."""
    source = (REPO / "lake" / "config.py").read_text()
    names = set(re.findall(r'_get\(env, "([A-Z0-9_]+)"\)', source))
    names |= set(re.findall(r'"((?:LAKE|NIGHTSCOUT)_[A-Z0-9_]+)"', source))
    return names


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and $$ for the values of .env.example."""
    def one(match: re.Match) -> str:
        name, op, default = match.groups()
        if op in (":-", "-"):
            return env.get(name) or default
        return env[name]
    return REFERENCE.sub(one, value).replace("$$", "$")


def strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return []


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_text(service: dict) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else " ".join(command)


def in_repo(container_path: str) -> Path:
    assert container_path.startswith(APP + "/"), container_path
    return REPO / container_path[len(APP) + 1:]


def test_every_service_has_an_image_or_a_build_and_ours_are_built_from_the_dockerfile():
    services = compose()["services"]
    assert {"postgres", "seaweedfs", "luigid", "worker", "jupyter"} <= set(services)
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
    for name in OUR_IMAGE_SERVICES:  # one image, built once from the Dockerfile, for all three
        assert services[name]["build"] == "." and services[name]["image"] == "cgm-lakehouse:local"
    assert DOCKERFILE.is_file()
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["seaweedfs"]["image"].startswith("chrislusf/seaweedfs:")


def test_every_variable_used_is_defined_in_env_example_and_nothing_else_is():
    used = {m.group(1) for s in strings(compose()) for m in REFERENCE.finditer(s)}
    defined = set(env_example())
    assert used - defined == set(), "used in docker-compose.yml but missing from .env.example"
    assert defined - used == set(), "defined in .env.example but never used"


def test_lake_services_get_exactly_the_variables_lake_config_reads():
    allowed = config_variables()
    assert {"LAKE_CATALOG", "LAKE_DATA_PATH", "LAKE_S3_ENDPOINT", "LAKE_S3_ACCESS_KEY_ID", "LAKE_SITES",
            "LAKE_S3_SECRET_ACCESS_KEY", "NIGHTSCOUT_URL", "NIGHTSCOUT_TOKEN"} <= allowed
    services = compose()["services"]
    for name in LAKE_SERVICES:
        env = environment(services[name])
        assert set(env) <= allowed, (name, set(env) - allowed)
        assert {"LAKE_CATALOG", "LAKE_DATA_PATH", "LAKE_S3_ENDPOINT", "LAKE_S3_ACCESS_KEY_ID",
                "LAKE_S3_SECRET_ACCESS_KEY"} <= set(env), name
    # Jupyter only reads the lake: it gets no Nightscout secret.
    assert not any(n.startswith("NIGHTSCOUT_") for n in environment(services["jupyter"]))
    # luigid never touches the lake, so it gets none of the lake's variables (and no S3 secret).
    assert not any(n.startswith(("LAKE_", "NIGHTSCOUT_")) for n in environment(services["luigid"]))


def test_the_lake_services_environment_is_a_valid_lake_configuration():
    values = env_example()
    for name in LAKE_SERVICES:
        env = {k: interpolate(v, values) for k, v in environment(compose()["services"][name]).items()}
        settings = Settings.from_env(env)
        assert settings.catalog.kind == "postgresql" and settings.catalog.host == "postgres"
        assert settings.catalog.dbname == values["POSTGRES_DB"]
        assert settings.data_path == f"s3://{values['S3_BUCKET']}/lake/"
        assert settings.s3.endpoint == "seaweedfs:8333" and settings.s3.use_ssl is False
        assert settings.uses_simulated_sites  # .env.example names no Nightscout site
    # SeaweedFS's one identity is the lake's key pair, and its bucket the data path's.
    seaweed = environment(compose()["services"]["seaweedfs"])
    assert seaweed["AWS_ACCESS_KEY_ID"] == "${LAKE_S3_ACCESS_KEY_ID}"
    assert seaweed["AWS_SECRET_ACCESS_KEY"] == "${LAKE_S3_SECRET_ACCESS_KEY}"
    assert seaweed["S3_BUCKET"] == "${S3_BUCKET}"


def test_no_secret_value_is_written_in_the_compose_file():
    for name, service in compose()["services"].items():
        for var, value in environment(service).items():
            if SECRET_NAME.search(var):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", value), (name, var)
        for text in strings(service):
            for password in re.findall(r"://[^/\s:@]+:([^@\s]+)@", text):  # URL credentials
                assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", password), (name, text)
            for flag, value in re.findall(r"(--\S*(?:token|password|secret)\S*?)=(\S+)", text, re.IGNORECASE):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", value), (name, flag)


def test_env_example_holds_placeholders_not_secrets():
    for name, value in env_example().items():
        if SECRET_NAME.search(name) and value:
            assert value.startswith("change-me"), name
    assert ".env" in (REPO / ".gitignore").read_text().split()  # the real one is never committed


def test_named_volumes_are_declared_and_bind_mounts_exist():
    spec = compose()
    declared = set(spec.get("volumes") or {})
    used = set()
    for name, service in spec["services"].items():
        for volume in service.get("volumes") or []:
            source, _, target = volume.partition(":")
            assert target, (name, volume)
            if source.startswith((".", "/")):
                assert (REPO / source).resolve().exists(), (name, source)
            else:
                used.add(source)
    assert used == declared and {"postgres-data", "seaweedfs-data", "luigi-state"} <= declared


def luigi_commands(text: str) -> list[tuple[str, str]]:
    return re.findall(r"luigi --module (\S+) (\w+)", text)


def test_every_command_refers_to_something_that_exists():
    services = compose()["services"]
    worker = command_text(services["worker"])
    found = luigi_commands(worker)
    assert ("tasks", "BuildGold") in found and ("tasks.maintenance", "MaintainLake") in found
    assert "--scheduler-host luigid" in worker and "--workers 4" in worker
    for module, task in found:
        assert issubclass(getattr(importlib.import_module(module), task), luigi.Task), (module, task)
    for module, subcommand in re.findall(r"python -m (\S+) (\w+)", worker):
        ran = subprocess.run([sys.executable, "-m", module, subcommand, "--help"], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, (module, subcommand, ran.stderr)
    # luigid: the luigi package's server, with its config file from the repository.
    assert command_text(services["luigid"]).startswith("luigid ")
    assert importlib.util.find_spec("luigi.cmdline") is not None
    config = in_repo(environment(services["luigid"])["LUIGI_CONFIG_PATH"])
    assert config.is_file()
    # jupyter lab on the notebooks, which exist in the repository.
    jupyter = services["jupyter"]["command"]
    assert jupyter[:2] == ["jupyter", "lab"]
    root = next(arg.split("=", 1)[1] for arg in jupyter if arg.startswith("--ServerApp.root_dir="))
    assert in_repo(root).is_dir() and any(in_repo(root).glob("*.ipynb"))
    # seaweedfs: `weed mini`, given its data directory on the volume.
    assert services["seaweedfs"]["command"][:2] == ["mini", "-dir=/data"]


def test_luigid_config_records_history_in_postgres_keeps_state_and_limits_lake_writers():
    services = compose()["services"]
    luigid_env = environment(services["luigid"])
    path = in_repo(luigid_env["LUIGI_CONFIG_PATH"])
    parser = configparser.RawConfigParser()
    parser.read(path)
    assert parser.getboolean("scheduler", "record_task_history") is True
    state = parser.get("scheduler", "state_path")
    assert any(v.endswith(":" + str(Path(state).parent)) for v in services["luigid"]["volumes"])
    url = parser.get("task_history", "db_connection")
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/luigi_history" in url
    assert set(REFERENCE.findall(url)) and {m[0] for m in REFERENCE.findall(url)} <= set(luigid_env)
    assert parser.getint("resources", "lake_writer") == 1
    assert parser.getint("resources", "lake_maintenance") == 1
    # The database it names is created on the first start of postgres.
    init = (REPO / "docker" / "postgres-init").glob("*.sql")
    assert any("CREATE DATABASE luigi_history" in f.read_text() for f in init)


def test_dockerfile_builds_one_image_with_the_project_and_jupyter():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    for line in re.findall(r"^COPY (.+)$", text, re.MULTILINE):
        *sources, _ = shlex.split(line)
        for source in sources:
            assert (REPO / source).exists(), source
    install = re.search(r"^RUN pip install (.+)$", text, re.MULTILINE).group(1)
    assert install.split()[0] == "." and "jupyterlab" in install and "sqlalchemy>=2" in install
    assert re.search(r"^WORKDIR /app$", text, re.MULTILINE)  # APP above


def compose_client() -> list[str] | None:
    """`docker compose` (the plugin) or `docker-compose` (standalone), whichever is installed."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_accepts_the_file():
    """Validates with Docker's own parser (it needs no Docker engine): the README's test command
    installs Debian's docker-compose when no compose client is there."""
    spec = compose()
    assert set(spec) <= {"services", "volumes", "networks", "secrets", "configs", "name"} | {
        k for k in spec if k.startswith("x-")}
    client = compose_client()
    assert client is not None, "no compose client: apt-get install -y docker-compose (the test command does)"
    result = subprocess.run([*client, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == set(spec["services"])
    worker_env = rendered["services"]["worker"]["environment"]
    assert worker_env["LAKE_DATA_PATH"] == f"s3://{env_example()['S3_BUCKET']}/lake/"
