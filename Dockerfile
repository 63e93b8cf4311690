# One image for every service of docker-compose.yml that runs this project: luigid, the worker and
# Jupyter. The lake's own configuration comes from environment variables at run time (lake/config.py);
# nothing secret is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The project and its pinned dependencies (pyproject.toml), plus what only the containers need:
# JupyterLab and matplotlib for the notebooks, and SQLAlchemy 2 for luigid's task history on
# PostgreSQL (the postgresql+psycopg:// dialect needs SQLAlchemy >= 2; the dev extra pins < 2 for
# the SQLite history the tests use).
COPY pyproject.toml setup.cfg README.md ./
COPY lake ./lake
COPY tasks ./tasks
RUN pip install . "jupyterlab>=4,<5" "ipykernel>=6" "matplotlib>=3.8" "sqlalchemy>=2,<3"

# luigi.cfg is read from the working directory by the luigi command and by luigid.
COPY luigi.cfg ./
COPY docker ./docker
COPY notebooks ./notebooks

# An unprivileged user; luigid's state directory belongs to it (a named volume is mounted there and
# takes over this ownership on first use).
RUN useradd --create-home --uid 1000 lake \
    && mkdir -p /var/lib/luigi-server \
    && chown lake /var/lib/luigi-server
USER lake

# DuckDB extensions, copied from the pinned pip wheels into the user's extension directory now, so
# that the containers start without that step and never download anything.
RUN python -c "import duckdb; from lake.catalog import install_extensions; install_extensions(duckdb.connect())"

# docker-compose.yml gives each service its own command; alone, the image checks the lake.
CMD ["python", "-m", "lake", "doctor"]
