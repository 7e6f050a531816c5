<%inherit file="layout.mako"/>
<%def name="title()">Help</%def>
<h1>Help</h1>
<nav class="toc"><a href="#scheduling">How scheduling works</a> &middot; <a href="#failures">Failures</a> &middot; <a href="#write-a-task">Write a task</a> &middot; <a href="#timeish">Time formats</a> &middot; <a href="#pages">Pages</a> &middot; <a href="#api">API and CLI</a></nav>

<h2 id="scheduling">How scheduling works</h2>
<p>A <em>job</em> is a definition (a task class, an interval, arguments, limits); each execution is a <em>run</em>, numbered by its <code>index</code> (1, 2, ...) and <code>attempt</code> (0 for the first try, 1, 2, ... for retries of the same run).</p>
<table id="rules">
<thead><tr><th>rule</th><th>what happens</th></tr></thead>
<tbody>
<tr><td>first run</td><td>config jobs at now + random() &times; interval (spreads load), or now with <code>--no-start-offset</code>; child jobs one interval after creation; jobs added here or through the API at "first run" (default: now)</td></tr>
<tr><td>schedule</td><td>an <code>interval</code> in seconds, or a <code>cron</code> expression (five fields or <code>@daily</code>...) in the time zone <code>tz</code>, evaluated like Debian cron across DST changes; <code>jitter</code> moves each due time by a fixed 0..jitter seconds</td></tr>
<tr><td>after a success</td><td>the next run is the next <strong>slot</strong> of the schedule (no drift). Slots that fell due while the job could not run follow its <code>misfire</code> policy: <code>coalesce</code> (default: the newest runs at once), <code>all</code> (each runs, up to <code>max_catchup</code>), <code>skip</code> (none); the others are recorded as <code>missed</code> results</td></tr>
<tr><td>run ledger</td><td>each slot is claimed before its run starts, so no slot runs twice whatever crashes; <code>das-actors ctl backfill JOB --from T1 --to T2</code> runs a past range once each</td></tr>
<tr><td><code>next</code> returned</td><td>honoured exactly, floored by <code>minimum_interval</code></td></tr>
<tr><td><code>minimum_interval</code></td><td>floors every path: periodic reschedule (interval and cron), <code>next</code>, retries, children, catch-up runs, manual reschedule (only a config job's first run is exempt)</td></tr>
<tr><td>failure</td><td>an exception, <code>success: False</code>, a crash (<code>crashed</code>, with the signal named), a timeout (<code>timeout</code>). Retried after <code>retry_delay &times; 2^(n-1)</code> (capped, jittered) exactly <code>max_retries</code> times (per job: <code>retries</code>), then <strong>abandoned</strong>: kept and visible with its last error. A success resets the budget</td></tr>
<tr><td>set aside</td><td>when applying a job's rule or outcome raises inside the scheduler (a bug met by one odd job, a stored record that cannot be read back), the job is <strong>quarantined</strong>: taken out of the schedule, kept and visible with the error, while every other job goes on. Reschedule it, run it now or remove it</td></tr>
<tr><td>limits</td><td><code>max_runs</code>, <code>only_once</code>, <code>only_before</code> are checked before every run, retries included. Retries reuse the run's index, so they never eat a <code>max_runs</code> slot</td></tr>
<tr><td>concurrency</td><td>a job never runs twice at once. When every worker is busy a due run waits (state <code>waiting</code>) and starts the moment a worker frees up</td></tr>
<tr><td>identity</td><td>a job's id is a hash of its definition: adding the same definition twice, or a task spawning the same child twice, never duplicates a job</td></tr>
<tr><td>run now</td><td>one extra run as soon as a worker is free (trigger <code>manual</code>, counted toward max_runs); the schedule is not shifted: the next scheduled run stays where it was</td></tr>
<tr><td>reschedule</td><td>moves the next run to the given time; the past is refused</td></tr>
<tr><td>pause / remove</td><td>a paused job keeps its state and is not dispatched until resumed; a removed job that is running finishes its run and is not rescheduled</td></tr>
<tr><td>cancel</td><td>kills a run in progress; it is recorded <code>cancelled</code></td></tr>
</tbody>
</table>

<h2 id="failures">Failures</h2>
<ul>
<li>Each worker slot runs tasks in its own subprocess. A hung task is stopped after its timeout (<code>--task-timeout</code>, per job <code>timeout</code>): SIGTERM, a grace, then SIGKILL; recorded <code>timeout</code>.</li>
<li>A worker process that dies is recorded <code>crashed</code>, the run is retried under the job's budget, and the process is restarted with backoff; a slot that keeps dying is marked <strong>degraded</strong> while the others keep working.</li>
<li>If the store is down, results and logs are buffered (bounded) and written when it is back; <code>/healthz</code> says so.</li>
</ul>

<h2 id="write-a-task">How to write a task</h2>
<p>Any class in the <code>tasks</code> package, an entry point in the group <code>das_actors.tasks</code>, or a dotted path <code>package.module:Class</code>. The base class is optional.</p>
<pre>from tasks.base import TaskBase

class Countdown(TaskBase):
    """Counts down, then stops itself."""
    task_options = [{"name": "start", "type": "int", "default": 3, "help": "first number"}]

    def __call__(self):
        left = self.options["start"] - self.index + 1       # index: 1-based run number
        self.logger.info("%d left", left)                   # stored as a task log line
        if left &lt;= 0:
            return {"resubmit": False}                      # finishes the job
        return {"left": left}                               # everything else is stored</pre>
<p>The constructor gets your arguments (with <code>task_options</code> defaults applied) plus <code>logger</code>, <code>name</code>, <code>index</code>, <code>interval</code>, <code>attempt</code>, <code>job_id</code>, <code>parent</code> (ancestor job ids) and <code>due_at</code>. The returned dict may carry <code>resubmit: False</code>, <code>next_at: &lt;epoch&gt;</code> (DAS's <code>next</code> works too), <code>new_tasks: [{name, classname, interval, kwargs, ...}]</code> (child jobs) and <code>success: False</code>. <code>task_options</code> types (<code>str int float bool json list dict</code>) generate the argument form on the Control page and are checked when a job is added.</p>
<p>Try a task by hand: <code>das-actors run-task -c Test -o '{"message": "hi"}'</code>.</p>

<h2 id="timeish">Time formats (TIMEISH)</h2>
<p id="timeish-formats" data-testid="timeish-formats">${timeish}.</p>
<p>They are accepted by "reschedule", "first run" and "only before".</p>

<h2 id="pages">Pages</h2>
<dl class="facts">
<dt>Overview</dt><dd>job counts by state, workers, runs and failures of the last hour, the last failures</dd>
<dt>Schedule</dt><dd>jobs by due time, with run now, pause, resume, remove and reschedule</dd>
<dt>Running</dt><dd>runs in progress, elapsed time, worker pid, cancel</dd>
<dt>Results</dt><dd>runs, newest first, filtered by job, name, class, parent, outcome and age</dd>
<dt>Logs</dt><dd>system (<code>log</code>) and task (<code>reslog</code>) lines by logger prefix and level, and a live tail</dd>
<dt>Control</dt><dd>options (live ones can be changed here) and the add-job form</dd>
</dl>

<h2 id="api">API and CLI</h2>
<p>Everything here is also a JSON API under <a href="${c.url('api/v1/openapi.json')}"><code>${c.base}api/v1/</code></a> (OpenAPI document), with <a href="${c.url('healthz')}"><code>healthz</code></a> and <a href="${c.url('metrics')}"><code>metrics</code></a> (Prometheus). From a shell: <code>das-actors ctl jobs</code>, <code>das-actors ctl add NAME CLASS INTERVAL --arg k=v</code>, <code>das-actors ctl logs --follow</code>; <code>das-actors ctl --help</code> lists every command.</p>
