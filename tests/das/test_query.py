"""DAS-QL parsing, the canonical storage form, its stable hash, value types and error messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.das.query import keys_of, normalize, parse_query, qhash, to_text, value_type


def test_parse_the_documented_forms():
    assert parse_query("dataset dataset.name=/A/B/*") == {
        "fields": ["dataset"], "spec": [{"key": "dataset.name", "value": "/A/B/*"}], "instance": "prod/global"}
    assert parse_query("file dataset.name=/A/B/C site.name=T1_CH", instance="prod/phys03") == {
        "fields": ["file"],
        "spec": [{"key": "dataset.name", "value": "/A/B/C"}, {"key": "site.name", "value": "T1_CH"}],
        "instance": "prod/phys03"}
    assert parse_query("dataset.name=/A/B/C")["fields"] == ["dataset"]  # the first key's prefix
    assert parse_query("site.name=T1 dataset.name=/A")["fields"] == ["site"]
    assert parse_query("run run.number between [1, 5]")["spec"] == [{"key": "run.number", "value": "[1,5]"}]
    assert parse_query("run run.number>=100")["spec"] == [{"key": "run.number", "value": ">=100"}]
    assert parse_query('dataset dataset.name="/A B/C"')["spec"][0]["value"] == "/A B/C"
    assert parse_query("dataset dataset.name=/A=B/C")["spec"][0]["value"] == "/A=B/C"  # the first = splits


def test_conditions_and_fields_are_order_insensitive_and_canonical():
    one = parse_query("file block dataset.name=/A/B/C site.name=T1_CH")
    two = parse_query("block file file site.name=T1_CH dataset.name=/A/B/C")
    assert one == two and one["fields"] == ["block", "file"]
    assert qhash(one) == qhash(two)
    assert keys_of(one) == ["dataset.name", "site.name"]


def test_qhash_is_stable_across_spellings_processes_and_versions():
    # Pinned: the hash is stored in the query log and the cache; it must never change.
    assert qhash(parse_query("dataset dataset.name=/A/B/*")) == "b53c1cf4a2acf9003c8ed786cd05d3aa"
    storage = {"spec": [{"key": "dataset.name", "value": "/A/B/*", "pattern": "ignored"}]}
    assert qhash(storage) == "b53c1cf4a2acf9003c8ed786cd05d3aa"  # fields and instance defaulted
    assert qhash("dataset.name=/A/B/*") == "b53c1cf4a2acf9003c8ed786cd05d3aa"  # type: ignore[arg-type]
    assert qhash(parse_query("dataset dataset.name=/A/B/*", instance="prod/phys03")) != qhash(storage)
    assert qhash(parse_query("dataset dataset.name=/A/B/C")) != qhash(storage)
    assert qhash(parse_query("block dataset.name=/A/B/*")) != qhash(storage)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty query"),
    ("   ", "empty query"),
    ("dataset", "query 'dataset' has no condition"),
    ("dataset dataset.name=", "empty value in 'dataset.name='"),
    ("dataset Dataset.Name=x", "bad key 'Dataset.Name' in 'Dataset.Name=x'"),
    ("dataset dataset..name=x", "bad key 'dataset..name'"),
    ("=x", "bad key '' in '=x'"),
    ("data$et dataset.name=x", "bad field 'data$et'"),
    ("dataset.name=x dataset", "unexpected token 'dataset' after the conditions"),
    ("dataset dataset.name=x dataset.name=y", "key 'dataset.name' is given twice ('x' and 'y')"),
    ("run run.number between [1,2", "bad range '[1,2' for 'run.number'"),
    ("run run.number between 1", "bad range '1'"),
    ("run run.number>=", "empty value in 'run.number>='"),
    ('dataset dataset.name="/A', "No closing quotation"),
])
def test_parse_errors_name_the_bad_token(text, message):
    with pytest.raises(ValueError, match="^.*" + __import__("re").escape(message)):
        parse_query(text)


@pytest.mark.parametrize(("query", "message"), [
    ({}, "needs a non-empty 'spec'"),
    ({"spec": [{"key": "dataset.name", "value": 3}]}, "bad value 3 for key 'dataset.name'"),
    ({"spec": [{"value": "x"}]}, "bad spec entry"),
    ({"spec": [{"key": "a", "value": "x"}], "fields": ["A"]}, "bad field 'A'"),
    ({"spec": [{"key": "a", "value": "x"}], "instance": "prod global"}, "bad instance 'prod global'"),
    (42, "DAS-QL text or a storage-form dict"),
])
def test_storage_form_errors(query, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        normalize(query)


@pytest.mark.parametrize(("text", "canonical"), [
    ("dataset dataset.name=/A/B/*", "dataset dataset.name=/A/B/*"),
    ("site.name=T1 file dataset.name=/A", None),
    ("file site.name=T1 dataset.name=/A", "file dataset.name=/A site.name=T1"),
    ("run run.number between [ 1 , 5 ]", "run run.number between [1,5]"),
    ("run run.number>=7", "run run.number>=7"),
    ('dataset dataset.name="/A B/*"', "dataset dataset.name='/A B/*'"),
])
def test_to_text_is_canonical_and_round_trips(text, canonical):
    if canonical is None:
        with pytest.raises(ValueError, match="unexpected token 'file'"):
            parse_query(text)
        return
    storage = parse_query(text)
    assert to_text(storage) == canonical
    assert parse_query(to_text(storage)) == storage


_VALUE = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\x00"), min_size=1, max_size=12).filter(
    lambda v: v.strip() == v and not v.startswith(">=") and not v.startswith("["))


@given(st.dictionaries(st.sampled_from(["dataset.name", "site.name", "run.number", "block.name"]), _VALUE,
                       min_size=1, max_size=4))
def test_any_storage_query_round_trips_through_text(spec):
    storage = normalize({"spec": [{"key": k, "value": v} for k, v in spec.items()]})
    assert parse_query(to_text(storage)) == storage


@pytest.mark.parametrize(("value", "kind"), [
    ("/A/B/C", "string"), ("/A/B/*", "wildcard_end"), ("*", "wildcard_end"), ("/A*/B/*", "wildcard_2"),
    ("*/B/C", "wildcard_1"), ("[1,5]", "between_value"), (">=100", "last_value"), ("", "unknown"),
    (None, "unknown"), (">=", "string"),
])
def test_value_type(value, kind):
    assert value_type(value) == kind
