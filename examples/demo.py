"""Demo config for `make run`: a few chaos Test jobs and a sleeper, on tiny intervals, and data.

Config files are Python. Module-level names that match an option set it; Task(...)
declares a job: Task(name, classname, interval, *, only_once, max_runs, only_before,
timeout, retries, tags, on_stream, stream_batch, **task_arguments); Stream(...) a stream:
Stream(name, amqp_uri, queue, tags=...).

The data part: `demo-readings` writes the object readings.csv at start (then hourly),
`demo-summary` reads it (and the stream `demo`, when there is one) and writes summary.json;
both show on the Data page. Set DAS_ACTORS_DEMO_AMQP=amqp://guest:guest@localhost:5672/%2F
to consume the queue `das-demo` of that broker as the stream `demo` (without it, no stream).
A "Script" job with script="name" also appears in the panel's Scripts area (edit it there,
run it now, see its plot).
"""

import os

workers = 2
minimum_interval = 5  # the demo runs every few seconds; production keeps 60 or more
retry_delay = 2
max_retries = 2
task_timeout = 30
no_start_offset = True  # the demo starts every job at once instead of spreading first runs

Task("hello", "Test", 10, message="hello world", seed=1)
Task("chaos", "Test", 7, message="chaos monkey", raise_p=0.2, spawn_p=0.1)
Task("sleeper", "Sleep", 15, seconds=2.5)
Task("once", "Echo", 60, only_once=True, value={"answer": 42})

Task("demo-readings", "MakeReadings", 3600, rows=200, tags=["demo"])
Task("demo-summary", "Summarize", 60, readings="readings.csv", stream="demo", tags=["demo"])

_amqp = os.environ.get("DAS_ACTORS_DEMO_AMQP", "")
if _amqp:
    Stream("demo", _amqp, "das-demo", tags=["demo"])
    Task("demo-on-stream", "Summarize", 3600, readings="readings.csv", stream="demo", out="live-summary.json",
         on_stream="demo", stream_batch=10, tags=["demo"])

_SQUARES = '''"""Plots the first n squares; the panel shows the figure below the run."""
import matplotlib.pyplot as plt

task_options = [{"name": "n", "type": "int", "default": 12, "help": "how many squares"}]

n = args["n"]
logger.info("plotting %d squares", n)
plt.plot(range(n), [i * i for i in range(n)], marker="o")
plt.title(f"the first {n} squares")
plt.xlabel("i")
plt.ylabel("i * i")
result = {"sum": sum(i * i for i in range(n))}
'''
Task("squares", "Script", 300, script="squares", source=_SQUARES)
