"""Demo config for `make run`: a few chaos Test jobs and a sleeper, on tiny intervals.

Config files are Python. Module-level names that match an option set it; Task(...)
declares a job: Task(name, classname, interval, *, only_once, max_runs, only_before,
timeout, retries, **task_arguments).
"""

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
