"""Running scripts written in the browser, inside a worker process (never in the server).

`runner` executes a script's source (`tasks.script.Script` is the task class), `outputs`
collects what it shows (figures, tables, text) within a byte budget, and `mplbackend` is the
matplotlib backend that hands figures to `outputs` as SVG. A subpackage, so that the task
registry's scan of ``tasks`` never imports matplotlib.
"""
