"""The whole DAS analytics pipeline against the demo upstream (see "The DAS analytics pipeline"
in the README). In three terminals, from the repository root:

    .venv/bin/das-actors das-serve --db-uri sqlite:///./das-cache.db --upstreams das-upstreams.json \
        --demo-upstream --demo-ttl 20 --demo-latency 0.03
    .venv/bin/das-actors spam --url http://127.0.0.1:8214 --duration 600 --rate 20 --values 300
    .venv/bin/das-actors start examples/das_pipeline.py

``das-serve`` answers clients from the cache (and records their calls in the query log);
the server's workers get the same das service (``das_db_uri``, ``das_upstreams``) as
``services["das"]``: KeyHotspot finds the popular keys, spawns a ValueHotspot per hot key,
which finds the popular values and spawns QueryMaintainers keeping them cached. Watch the
chain on the Schedule page of http://127.0.0.1:8213/analytics/ (parents are shown on each
job) and the Hotspot / Query / API reports under Reports.

Intervals are minutes here so that something happens during a demo; production values are
hours (KeyHotspot daily, ValueHotspots every 4 h, summaries kept 30 days).
"""

workers = 2
minimum_interval = 1
no_start_offset = True  # first runs now, not spread over the interval
db_uri = "sqlite:///./das-actors-pipeline.db"  # runs and logs (not the das cache)
das_db_uri = "sqlite:///./das-cache.db"  # the das service's store: the same file das-serve uses
das_upstreams = "das-upstreams.json"  # written by `das-serve --demo-upstream`

# Which keys are hot (every minute, over the last 30 min); each hot key gets a ValueHotspot that
# runs every 20 s until the next KeyHotspot run and keeps its 10 hottest values warm. (A ValueHotspot
# can also be declared directly: Task("hot-datasets", "ValueHotspot", 60, key="dataset.name", ...).)
Task("hot-keys", "KeyHotspot", 60, period=1800, allowed_gap=0, mode="calls", fraction=0.5,
     child_interval=20, child_preempt=5,
     child_kwargs={"period": 600, "allowed_gap": 0, "mode": "fixed", "fraction": 10, "min_delay": 1})

# Query structures for the Query report; old summaries deleted; one query kept cached the DAS-robot way.
Task("query-analyzer", "QueryAnalyzer", 60, period=3600, allowed_gap=0)
Task("cleanup", "AnalyticsCleanup", 3600, cutoff=86400)
Task("robot", "QueryRunner", 300, dasquery="site site.name=T1_CH_CERN")
