"""The Reports section: the index (grouped by ``report_group``), each report's page, and the API.

``GET /reports`` lists the reports; ``GET /reports/<name>?<params>`` validates the query
string against the report's declared parameters (a 400 naming the field, with the form
still filled in), calls the report with a `reports.ReportContext` over the facade, and
renders its template ``report_<name>.mako``, looked up next to the report's module and
then in ``web/templates`` (for the ``report.mako`` frame and ``layout.mako``), with the
same escaping as every page. ``GET api/v1/reports`` and ``GET api/v1/reports/<name>``
answer the same as JSON (the report's data, charts as their specs).

`register_reports` adds these routes to the root app; `web.app.make_app` calls it after
the other pages, so this ``/reports`` replaces any earlier one.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote

import bottle
import structlog
from mako.exceptions import TopLevelLookupException
from mako.lookup import TemplateLookup

import reports as reports_pkg
from actors.errors import InvalidValueError, ReportError
from reports import charts, stats
from reports.base import ReportContext, parse_params
from reports.registry import ReportInfo, ReportRegistry
from web.errors import HtmlErrors, JsonErrors
from web.render import TEMPLATES, Formatters, PageContext, render
from web.requests import query_params, route
from web.security import Guard
from web.state import WebState

log = structlog.get_logger("das_actors.web.reports")

#: What a report may name as its template: a plain file name.
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.mako")

_lookups: dict[str, TemplateLookup] = {}
_lookups_lock = threading.Lock()


def _lookup(template_dir: str | None) -> TemplateLookup:
    """The Mako lookup of one report directory (then ``web/templates``), escaping as every page."""
    key = template_dir or ""
    with _lookups_lock:
        found = _lookups.get(key)
        if found is None:
            directories = [d for d in (template_dir, str(TEMPLATES)) if d]
            found = _lookups[key] = TemplateLookup(directories=directories, default_filters=["h"],
                                                   strict_undefined=True, input_encoding="utf-8")
        return found


def _find(registry: ReportRegistry, name: str) -> ReportInfo:
    return registry.info(name)  # an UnknownReportError is the 404


def run_report(info: ReportInfo, values: dict[str, Any], context: ReportContext) -> tuple[str, dict[str, Any]]:
    """Call the report; check it answered ``(template_name, dict)``.

    Raises:
        ReportParamError: the report refused a parameter (400 naming it).
        ReportError: the report broke its contract (500, logged).
    """
    answer = info.cls(context)(**values)  # a ReportParamError is the 400 naming the field
    if not (isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], str)
            and isinstance(answer[1], dict)):
        raise ReportError(f"report {info.name!r} returned {type(answer).__name__}, not (template_name, dict)")
    template, data = answer
    if not TEMPLATE_NAME.fullmatch(template):
        raise ReportError(f"report {info.name!r} named template {template[:80]!r}: not a plain .mako file name")
    return template, data


def render_report(info: ReportInfo, page: PageContext, template: str, *, data: dict[str, Any] | None,
                  values: dict[str, str], error: tuple[str, str | None] | None) -> str:
    """The HTML of a report page: *template* (looked up next to the report, then in web/templates)."""
    try:
        compiled = _lookup(info.template_dir).get_template(template)
    except TopLevelLookupException:
        raise ReportError(f"report {info.name!r}: template {template!r} not found next to its module "
                          f"({info.template_dir}) nor in web/templates") from None
    return str(compiled.render(
        c=page, f=Formatters(page.now), report=info.describe(), name=info.name, url_name=quote(info.name),
        report_url=page.url("reports/" + quote(info.name)), values=values, data=data, error=error,
        charts=charts, stats=stats))


def _values_text(info: ReportInfo, raw: dict[str, str], values: dict[str, Any] | None) -> dict[str, str]:
    """The parameters as form text: the parsed values, else (refused) what was sent."""
    if values is None:
        return {p.name: raw.get(p.name, "")[:200] for p in info.params}
    return {p.name: p.text(values.get(p.name)) for p in info.params}


def register_reports(root: bottle.Bottle, state: WebState, registry: ReportRegistry | None = None) -> None:
    """Add the Reports pages to *root* and mount their API under ``api/v1/``."""
    chosen = registry

    def reg() -> ReportRegistry:
        return chosen or state.facade.reports()

    pages = bottle.Bottle()
    pages.uninstall(True)
    pages.install(HtmlErrors(state))
    pages.install(Guard(state.security, api=False))

    @route(pages, "GET", "/reports")
    def index() -> str:
        page = state.page("reports")
        known = reg()
        return render("reports.mako", page, groups=reports_pkg.groups(known), errors=dict(known.errors),
                      quote=quote)

    @route(pages, "GET", "/reports/<name>")
    def report_page(name: str) -> str:
        info = _find(reg(), name)
        raw = query_params()
        page = state.page("reports")
        try:
            values = parse_params(info.params, raw)
            template, data = run_report(info, values, state.facade.report_context())
        except InvalidValueError as exc:
            field = exc.field
            body = render_report(info, page, "report_error.mako", data=None,
                                 values=_values_text(info, raw, None), error=(str(exc), field))
            bottle.response.status = exc.status  # 400, or 404 when the parameter names nothing there
            return body
        return render_report(info, page, template, data=data, values=_values_text(info, raw, values), error=None)

    root.merge(pages)

    api = bottle.Bottle()
    api.uninstall(True)
    api.install(JsonErrors())
    api.install(Guard(state.security, api=True))

    @route(api, "GET", "/reports")
    def list_reports() -> dict[str, Any]:
        known = reg()
        return {"reports": reports_pkg.index(known), "errors": dict(known.errors)}

    @route(api, "GET", "/reports/<name>")
    def get_report(name: str) -> dict[str, Any]:
        info = _find(reg(), name)
        values = parse_params(info.params, query_params())
        template, data = run_report(info, values, state.facade.report_context())
        return {"report": info.describe(), "params": values, "template": template, "data": data}

    root.mount("/api/v1/", api)
