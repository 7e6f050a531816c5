"""The HotspotBase algorithm and QueryAnalyzer's pure parts, on hand-built summaries and records."""

from __future__ import annotations

import itertools

import pytest

from tasks.das.hotspot import (
    Gap,
    aggregate,
    calls_in,
    count_keys,
    count_values,
    fill_window,
    find_coverage,
    merge_supersets,
    plain_value,
    plan_chunks,
    rank_items,
    select_items,
)
from tasks.das_analyzer import classify_value, query_structure, structure_hash, summarize_structures
from tasks.das_query import next_refresh


def s(start, finish, **keys):
    return {"analyzer": "x", "start": start, "finish": finish, "keys": [[k, v] for k, v in keys.items()]}


# ------------------------------------------------------------------------------ coverage
def test_coverage_of_an_empty_window_is_one_trailing_gap():
    cov = find_coverage([], 0, 100)
    assert cov.gaps == [Gap(0, 100, trailing=True)] and cov.used == []


def test_coverage_finds_leading_inner_and_trailing_gaps():
    cov = find_coverage([s(30, 40), s(10, 20)], 0, 100)  # unsorted on purpose
    assert cov.gaps == [Gap(0, 10), Gap(20, 30), Gap(40, 100, trailing=True)]
    assert [u["start"] for u in cov.used] == [10, 30]


def test_nested_summary_neither_moves_the_cursor_back_nor_counts_twice():
    # DAS overwrote the cursor: after [0,50] the nested [10,20] moved it back to 20 and
    # [20,50] was reported as a gap (and summarised again: double counting).
    cov = find_coverage([s(0, 50, a=5), s(10, 20, a=1), s(50, 100, a=2)], 0, 100)
    assert cov.gaps == []
    assert cov.nested == 1 and cov.overlapping == 0
    assert aggregate(cov.used) == {"a": 7}


def test_duplicate_summaries_from_concurrent_runs_count_once_and_the_longest_wins():
    cov = find_coverage([s(0, 10, a=1), s(0, 10, a=1), s(0, 15, a=2)], 0, 20)
    assert cov.nested == 2 and aggregate(cov.used) == {"a": 2}
    assert cov.gaps == [Gap(15, 20, trailing=True)]


def test_partial_overlap_is_counted_and_reported():
    cov = find_coverage([s(0, 10, a=1), s(5, 20, a=1)], 0, 30)
    assert cov.overlapping == 1 and cov.nested == 0
    assert cov.gaps == [Gap(20, 30, trailing=True)]


def test_summaries_reaching_outside_the_window_are_ignored():
    cov = find_coverage([s(-10, 5, a=9), s(5, 10, a=1), s(95, 105, a=9)], 0, 100)
    assert aggregate(cov.used) == {"a": 1}
    assert cov.gaps == [Gap(0, 5), Gap(10, 100, trailing=True)]


# ------------------------------------------------------------------------------ chunks
def test_gap_at_most_allowed_gap_is_skipped():
    assert plan_chunks(0, 10, interval=100, allowed_gap=10) == []
    assert plan_chunks(0, 10.001, interval=100, allowed_gap=10) == [(0, 10.001)]


def test_gap_up_to_one_interval_is_one_chunk():
    assert plan_chunks(0, 60, interval=60, allowed_gap=0) == [(0, 60)]


def test_long_gap_is_split_into_equal_chunks_between_i_and_2i_tiling_exactly():
    chunks = plan_chunks(0, 250, interval=60, allowed_gap=0)
    assert len(chunks) == 4  # floor(250 / 60)
    assert chunks[0][0] == 0 and chunks[-1][1] == 250
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    assert all(60 <= f - s_ < 120 for s_, f in chunks)


def test_chunk_budget_caps_a_huge_backlog():
    chunks = plan_chunks(0, 30 * 86400, interval=1, allowed_gap=0, max_chunks=100)
    assert len(chunks) == 100 and chunks[-1][1] == 30 * 86400


def test_nonpositive_interval_is_a_clear_error():
    with pytest.raises(ValueError, match="interval must be positive"):
        plan_chunks(0, 10, interval=0, allowed_gap=0)


# ------------------------------------------------------------------------------ selection
def test_ties_are_ordered_by_item_whatever_the_input_order():
    counts_a = {"b": 3, "a": 3, "c": 5, "d": 1}
    counts_b = dict(reversed(list(counts_a.items())))
    assert rank_items(counts_a) == rank_items(counts_b) == [("c", 5), ("a", 3), ("b", 3), ("d", 1)]


RANKED = [("a", 50), ("b", 20), ("c", 10), ("d", 10), ("e", 5), ("f", 5)]  # 100 calls


def test_calls_mode_takes_the_smallest_head_exceeding_the_fraction():
    assert select_items(RANKED, "calls", 0.5) == [("a", 50), ("b", 20)]  # 50 is not > 50
    assert select_items(RANKED, "calls", 0.49) == [("a", 50)]
    assert select_items(RANKED, "calls", 0.0) == [("a", 50)]  # at least one item
    assert select_items(RANKED, "calls", 1.0) == RANKED  # never exceeds the total: everything
    assert select_items([], "calls", 0.5) == []
    assert select_items([("a", 0)], "calls", 0.5) == []


def test_keys_mode_takes_floor_n_times_fraction():
    assert select_items(RANKED, "keys", 0.5) == RANKED[:3]
    assert select_items(RANKED, "keys", 0.1) == []


def test_fixed_mode_takes_floor_fraction_items():
    assert select_items(RANKED, "fixed", 2.9) == RANKED[:2]
    assert select_items(RANKED, "fixed", 10) == RANKED


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown hotspot mode 'top' \(known: calls, keys, fixed\)"):
        select_items(RANKED, "top", 0.5)


def test_sliding_window_sum_adds_counts_over_summaries():
    summaries = [s(0, 10, a=1, b=2), s(10, 20, a=3), s(20, 30, c=4, b=1)]
    assert aggregate(summaries) == {"a": 4, "b": 3, "c": 4}  # DAS's dict.update overwrote: a=3


def test_merge_supersets_uses_the_shortest_cached_pattern_and_sums_counts():
    items = [("/A/B/RAW", 5), ("/A/C/RAW", 3), ("/X/Y/Z", 2)]
    merged = merge_supersets(items, ["/A/*", "/A/B/*", "no-wildcard"])
    assert merged == [("/A/*", 8), ("/X/Y/Z", 2)]
    assert merge_supersets(items, []) == items


# ------------------------------------------------------------------------------ counting
def record(key_values, times, fields=("dataset",)):
    return {"qhash": "h", "mongoquery": {"fields": list(fields), "instance": "prod/global",
                                         "spec": [{"key": k, "value": v} for k, v in key_values]},
            "times": list(times)}


def test_calls_are_counted_in_half_open_chunks():
    assert calls_in([0, 5, 10], 0, 10) == 2  # 10 belongs to the next chunk
    assert calls_in([0, 5, 10], 10, 20) == 1


def test_count_values_and_keys():
    records = [
        record([("dataset.name", "/A/B/C")], [1, 2, 3, 50]),
        record([("dataset.name", '"/A/B/C"')], [4]),  # DAS's JSON-encoded form
        record([("dataset.name", "/X/Y/Z"), ("site.name", "T1")], [5, 6]),
        record([("site.name", "T2")], [7]),
    ]
    assert count_values(records, "dataset.name", 0, 10) == {"/A/B/C": 4, "/X/Y/Z": 2}
    assert count_keys(records, 0, 10) == {"dataset.name": 6, "site.name": 3}
    assert plain_value('"x"') == "x" and plain_value('"bad') == '"bad'


def test_next_refresh_is_never_in_the_past():
    assert next_refresh(expiry=100, preempt=10, now=50) == 90
    assert next_refresh(expiry=100, preempt=10, now=95, min_delay=1) == 96
    assert next_refresh(expiry=10, preempt=60, now=95, min_delay=0.5) == 95.5


# ------------------------------------------------------------------------------ fill_window
class FakeSummaries:
    """Only the summary part of the service, in memory."""

    def __init__(self, summaries=()):
        self.summaries = [dict(x) for x in summaries]

    def get_summaries(self, analyzer, *, after, before):
        found = [x for x in self.summaries if x["analyzer"] == analyzer and x["start"] >= after
                 and x["finish"] <= before]
        return sorted(found, key=lambda x: x["start"])

    def add_summary(self, analyzer, start, finish, *, keys=None, queries=None):
        doc = {"analyzer": analyzer, "start": start, "finish": finish}
        doc.update({"keys": keys} if keys is not None else {"queries": queries})
        self.summaries.append(doc)


def test_fill_window_reports_skipped_and_failed_chunks_and_stores_the_rest():
    das = FakeSummaries([s(0, 100, a=1), s(105, 200, a=1)])  # 5 s inner gap <= allowed 10
    calls = []

    def summarise(start, finish):
        calls.append((start, finish))
        if start >= 300:
            raise RuntimeError("upstream hiccup")
        return [["a", 1]]

    report = fill_window(das, "x", 0, 400, interval=100, allowed_gap=10, summarise=summarise)
    assert report.skipped_gaps == [{"start": 100, "finish": 105, "seconds": 5, "trailing": False}]
    assert calls == [(200, 300), (300, 400)]
    assert report.written == 1 and len(das.summaries) == 3
    assert report.failed_chunks == [{"start": 300, "finish": 400, "error": "RuntimeError: upstream hiccup"}]
    assert aggregate(report.used) == {"a": 3}
    # the failed chunk is retried by the next run, the stored one is not summarised again
    calls.clear()
    fill_window(das, "x", 0, 400, interval=100, allowed_gap=10, summarise=lambda a, b: [["a", 2]])
    assert len(das.summaries) == 4 and das.summaries[-1]["start"] == 300


def test_a_short_trailing_gap_is_deferred_not_lost():
    das = FakeSummaries([s(0, 95, a=1)])
    report = fill_window(das, "x", 0, 100, interval=50, allowed_gap=10, summarise=lambda a, b: [["a", 1]])
    assert report.skipped_gaps == [{"start": 95, "finish": 100, "seconds": 5, "trailing": True}]
    report = fill_window(das, "x", 0, 120, interval=50, allowed_gap=10, summarise=lambda a, b: [["a", 1]])
    assert report.written == 1 and das.summaries[-1]["start"] == 95 and report.skipped_gaps == []


# ------------------------------------------------------------------------------ query structures
def test_value_types():
    assert classify_value("/A/B/C") == ("string", None)
    assert classify_value("/A/B/*") == ("wildcard_end", None)
    assert classify_value("*/B/*") == ("wildcard_2", None)
    assert classify_value("[1,5]") == ("between_value", None)
    assert classify_value(">=100") == ("last_value", None)
    assert classify_value('"/A/*"') == ("wildcard_end", None)  # DAS's JSON encoding
    assert classify_value({"$gte": 1, "$lte": 2}) == ("between_value", None)
    assert classify_value('{"$gte": 1}') == ("last_value", None)
    kind, error = classify_value('"/A/B')  # truncated JSON: reported, not raised
    assert kind == "unknown" and str(error).startswith("not valid JSON")


def test_structures_are_grouped_by_a_stable_hash_and_bad_values_reported():
    records = [
        record([("dataset.name", "/A/B/C")], [1, 2]),
        record([("dataset.name", "/X/Y/Z")], [3]),  # same structure
        record([("dataset.name", "/A/*")], [4]),
        record([("dataset.name", '"/broken')], [5], fields=("file",)),
    ]
    problems: list[dict] = []
    pairs = summarize_structures(records, 0, 10, problems)
    assert pairs[0] == [{"fields": ["dataset"], "instance": "prod/global", "keys": {"dataset.name": "string"}}, 3]
    assert sorted(p[1] for p in pairs) == [1, 1, 3]
    assert len(problems) == 1 and problems[0]["key"] == "dataset.name"
    a = query_structure(records[0])
    assert structure_hash(a) == structure_hash(dict(reversed(list(a.items()))))
