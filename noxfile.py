"""Development sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s docs`` (see README)."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]


@nox.session
def tests(session):
    """Install litterlearn with the CPU TensorFlow and run the test suite.

    One pytest-xdist worker per core (``-n auto``); arguments after ``--`` go
    to pytest (``nox -s tests -- -n 0 -k resize`` runs in this process). The
    ``integrations`` extra brings the libraries of the "Beyond fit" guide, so
    that its tests run instead of being skipped; the ``hub`` extra and
    keras-hub, those of KerasHub presets.
    """
    session.install(".[cpu,test,integrations,hub]")
    # KerasHub as the README installs it, so that tests/test_keras_hub.py
    # runs: without its dependencies (its tensorflow-text would pull a second
    # TensorFlow), which the ``hub`` extra brings instead.
    session.install("--no-deps", "keras-hub>=0.32")
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session
def lint(session):
    """ruff check and format check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def docs(session):
    """Build the HTML docs, running the example gallery; warnings are errors.

    Works offline (LITTERLEARN_DOCS_OFFLINE=1 skips fetching other projects'
    intersphinx inventories).
    """
    session.install(".[cpu,docs]")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )
    # No CDN, no raw LaTeX, a thumbnail per card, the course's order, and
    # every estimator method on its API page.
    session.run("python", "docs/check_html.py", "docs/_build/html")


@nox.session
def bench(session):
    """Run every benchmark script; each prints its figures (ratios vs a baseline)."""
    import pathlib

    session.install(".[cpu,test,distributed,bench]")
    scripts = sorted(pathlib.Path("benchmarks").glob("bench_*.py"))
    for script in scripts:
        if not session.posargs or script.stem in session.posargs:
            session.run("python", str(script))


@nox.session
def demo(session):
    """Install litterlearn and run its demo (options after --)."""
    session.install(".[cpu,plot]")
    session.run("litterlearn", "demo", *session.posargs)
