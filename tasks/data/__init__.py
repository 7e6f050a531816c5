"""Data objects and streams for tasks: the ``objects`` and ``streams`` services (`tasks.data.plugin`).

A task reads what operators brought in and writes its results back::

    rows = self.services["objects"].read("readings.csv")        # CSV -> list of dicts
    recent = self.services["streams"].window("sensors", 300)     # the last 5 minutes, oldest first
    self.services["objects"].write("summary.json", {...}, tags=["report"])

See `tasks.data.objects.ObjectsService` and `tasks.data.streams.StreamsService`.
"""
