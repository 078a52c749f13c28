# vein developer tasks: `just --list`

default:
    @just --list

# run the whole test suite
test *args:
    python -m pytest {{args}}

# test suite with branch coverage of vein/
cov:
    python -m pytest --cov=vein --cov-branch --cov-report=term-missing:skip-covered

# ruff (lint + format check)
lint:
    python -m ruff check vein tests bench typings examples
    python -m ruff format --check vein

# mypy --strict on the package and the typed-usage examples
typecheck:
    python -m mypy --strict vein
    python -m mypy --strict typings/accept
    python -m pytest -q tests/test_typing.py

# side-by-side benchmarks (SPEC §12, issue 5's state figures, watch latency, AppConfig poll); prints ratios
bench *args:
    python bench/run.py {{args}}

# the listened write (vein and its peers) under pyperf: calibrated loops, fresh worker processes
bench-pyperf *args:
    python bench/pyperf_write.py {{args}}

# check that every example in docs/ runs
docs:
    python -m pytest -q tests/test_docs.py

# the main job on the bundled example
demo:
    cd examples && APP_DATABASE__PASSWORD=s3cret APP_LOG_LEVEL=debug python -m vein show app:Settings --yaml config.yml --env APP_
