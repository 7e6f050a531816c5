"""Run `tasks.script.Script` in a fresh interpreter (the matplotlib backend is chosen per process)
and print its result as JSON: ``python -m tests.tasks.script_probe < source``."""

from __future__ import annotations

import json
import logging
import sys

from tasks.script import Script

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    budget = int(sys.argv[2]) if len(sys.argv) > 2 else 2 * 1024 * 1024
    result = Script(source=sys.stdin.read(), script="probe", version=1, args=args, max_output_bytes=budget)()
    sys.stdout.write(json.dumps(result))
