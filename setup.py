"""Packaging for das-actors: a supervised periodic analytics-task server."""

from setuptools import find_packages, setup

#: Optional capabilities, each an extra; the test extra pulls all of them in (the suite tests them).
AMQP = ["pika>=1.3"]  # streams and act.publish
DASK = ["distributed>=2026.8.0"]  # the Dask worker backend
ANALYTICS = ["numpy>=1.26", "pandas>=2.1", "matplotlib>=3.8"]  # what browser-written tasks import

setup(
    name="das-actors",
    version="0.1.0",
    description="Periodic analytics-task server: supervised pykka actors, subprocess workers, "
    "capped result/log store, web panel.",
    long_description=open("README.md", encoding="utf-8").read(),  # noqa: SIM115 - setup-time read
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["actors", "actors.*", "tasks", "tasks.*", "reports", "reports.*",
                                    "web", "web.*"]),
    package_data={"reports": ["*.mako"], "web": ["templates/*.mako", "static/*"]},
    install_requires=[
        "pykka>=4.1,<5",
        "structlog>=24.1",
        "bottle>=0.13,<0.14",
        "mako>=1.3",
        "pymongo>=4.7,<5",
        "waitress>=3.0",
        "orjson>=3.9",
        "cronsim>=2.6,<3",  # cron expressions, Debian-cron DST rules (actors.schedule)
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-timeout>=2.3", "webtest>=3.0", "hypothesis>=6.100",
                 "prometheus-client>=0.20", "openapi-spec-validator>=0.7",
                 "playwright>=1.40",  # the Python package only; the browser is Debian's chromium
                 "pytest-httpserver>=1.0", "import-linter>=2.1",
                 "schemathesis>=4.3,<5",  # the OpenAPI-driven fuzzer (tests/web/test_openapi_fuzz.py, make fuzz)
                 *AMQP, *DASK, *ANALYTICS],
        "amqp": AMQP,
        "dask": DASK,
        "analytics": ANALYTICS,
        "lint": ["ruff>=0.6", "mypy>=1.10", "import-linter>=2.1"],
        "bench": ["apscheduler>=3.10,<4", "psutil>=5.9", "cheroot>=10",  # cheroot: web_doors.py compares it
                  *DASK],  # the dask_burst scenario
    },
    entry_points={
        "console_scripts": ["das-actors = actors.cli:main"],
        # Service plugins (actors.services): the das data service, data objects and streams (tasks.data),
        # the act service (webhooks, publishes: tasks.act).
        "das_actors.services": ["das = tasks.das.plugin:PLUGIN", "objects = tasks.data.plugin:OBJECTS",
                                "streams = tasks.data.plugin:STREAMS", "act = tasks.act.plugin:PLUGIN"],
    },
)
