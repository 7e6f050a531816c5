"""das-actors runtime: pykka actors, the pure scheduling core, storage, config and CLI.

The pure core (`jobs`, `timetable`, `policy`) has no threads and no I/O; everything that
runs lives in the actor modules (`scheduler`, `worker`, `journal`, `supervisor`).
"""

__version__ = "0.1.0"
