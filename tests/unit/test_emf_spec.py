"""The EMF line checker of tests/emf.py: valid lines pass, each broken rule is reported."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.emf import ALLOWED_UNITS, SPEC_URL, check_emf


def valid_document() -> dict[str, Any]:
    """Two directives; several metrics, dimension sets, units, resolutions, value arrays."""
    return {
        "_aws": {
            "Timestamp": 1_700_000_000_123,
            "CloudWatchMetrics": [
                {
                    "Namespace": "aiobatch",
                    "Dimensions": [["Source"], ["Source", "FunctionName"], []],
                    "Metrics": [
                        {"Name": "RecordsProcessed", "Unit": "Count"},
                        {"Name": "RecordsFailed", "Unit": "Count", "StorageResolution": 60},
                        {"Name": "HandlerLatency", "Unit": "Milliseconds", "StorageResolution": 1},
                        {"Name": "Throughput", "Unit": "Count/Second"},
                        {"Name": "Ratio"},
                    ],
                },
                {
                    "Namespace": "aiobatch/Batches",
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [{"Name": "BatchBytes", "Unit": "Bytes"}],
                },
            ],
        },
        "Source": "sqs",
        "FunctionName": "orders-worker",
        "RecordsProcessed": 10,
        "RecordsFailed": 0,
        "HandlerLatency": [1.5, 2, 3.25, 0],
        "Throughput": 12.5,
        "Ratio": -0.5,
        "BatchBytes": [2048],
        "requestId": "8f4e4d0c-7f53-4a4f-9d5e-1b1a0c1e2f3a",
        "nested": {"free": ["members", None, True]},
    }


def line(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def directive(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = document["_aws"]["CloudWatchMetrics"][index]
    return found


def definition(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = directive(document)["Metrics"][index]
    return found


def rejects(text: str, pattern: str) -> str:
    """Check ``text`` fails with a message matching ``pattern``; return the message."""
    with pytest.raises(AssertionError, match=pattern) as caught:
        check_emf(text)
    return str(caught.value)


# --- valid lines --------------------------------------------------------------------------


def test_valid_line_passes_and_is_returned_parsed() -> None:
    document = valid_document()
    assert check_emf(line(document)) == document


def test_default_json_dumps_spacing_is_fine() -> None:
    document = valid_document()
    assert check_emf(json.dumps(document)) == document


def test_minimal_line_without_unit_resolution_or_dimensions() -> None:
    document = {
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [
                {"Namespace": "n", "Dimensions": [[]], "Metrics": [{"Name": "m"}]}
            ],
        },
        "m": 1,
    }
    assert check_emf(line(document)) == document


def test_every_limit_reached_exactly_is_fine() -> None:
    names = [f"d{i}" for i in range(30)]
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "N" * 1024,
                    "Dimensions": [names, ["D" * 250]],
                    "Metrics": [{"Name": "M" * 1024}] + [{"Name": f"m{i}"} for i in range(99)],
                }
            ],
        },
        "D" * 250: "v" * 1024,
        "M" * 1024: [0.5] * 100,
    }
    document.update({name: "x" for name in names})
    document.update({f"m{i}": i for i in range(99)})
    assert check_emf(line(document)) == document


def test_every_unit_is_accepted() -> None:
    document = valid_document()
    for unit in sorted(ALLOWED_UNITS):
        definition(document)["Unit"] = unit
        check_emf(line(document))


def test_allowed_units_are_the_27_cloudwatch_units() -> None:
    assert len(ALLOWED_UNITS) == 27
    assert {"None", "Count", "Percent", "Microseconds", "Terabits/Second"} <= ALLOWED_UNITS
    assert "Milliseconds/Second" not in ALLOWED_UNITS


def test_an_empty_metric_directive_list_is_allowed() -> None:
    document = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}}
    assert check_emf(line(document)) == document


# --- the line as a whole ------------------------------------------------------------------


def test_newline_inside_the_line() -> None:
    rejects(json.dumps(valid_document(), indent=2), "contains a line break")


def test_trailing_newline() -> None:
    rejects(line(valid_document()) + "\n", "contains a line break")


def test_carriage_return() -> None:
    rejects(line(valid_document()).replace(",", ",\r", 1), "contains a line break")


def test_whitespace_around_the_object() -> None:
    rejects(" " + line(valid_document()), "whitespace before or after")
    rejects(line(valid_document()) + "\t", "whitespace before or after")


def test_not_json() -> None:
    rejects("RecordsProcessed=10", "not a single JSON object")


def test_data_after_the_object() -> None:
    rejects(line(valid_document()) + "{}", "not a single JSON object")


def test_prefix_before_the_object() -> None:
    rejects("2024-01-01T00:00:00Z " + line(valid_document()), "not a single JSON object")


def test_root_not_an_object() -> None:
    rejects(json.dumps([valid_document()]), "the root is an array")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(token: str) -> None:
    text = line(valid_document()).replace('"RecordsProcessed":10', f'"RecordsProcessed":{token}')
    rejects(text, f"not JSON: {token} is not a JSON value")


def test_repeated_member_name() -> None:
    text = line(valid_document()).replace('"RecordsFailed":0', '"RecordsFailed":0,"Ratio":1')
    rejects(text, "member name 'Ratio' appears twice")


def test_line_over_one_megabyte() -> None:
    document = valid_document()
    document["padding"] = "x" * (1024 * 1024)
    rejects(line(document), "bytes; an EMF event is at most 1048576")


def test_size_counts_utf8_bytes_not_characters() -> None:
    document = valid_document()
    document["padding"] = ""
    base = len(line(document))
    document["padding"] = "\u00e9" * ((1024 * 1024 - base) // 2 + 8)  # 2 bytes each in UTF-8
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert len(text) < 1024 * 1024 < len(text.encode())
    rejects(text, "bytes; an EMF event is at most 1048576")


# --- _aws ---------------------------------------------------------------------------------


def test_missing_aws() -> None:
    document = valid_document()
    del document["_aws"]
    rejects(line(document), "the root object has no _aws member")


def test_aws_not_an_object() -> None:
    document = valid_document()
    document["_aws"] = [document["_aws"]]
    rejects(line(document), "_aws is an array")


def test_unknown_member_in_aws() -> None:
    document = valid_document()
    document["_aws"]["LogGroupName"] = "x"
    rejects(
        line(document), re.escape("_aws has members the spec does not define: ['LogGroupName']")
    )


def test_missing_timestamp() -> None:
    document = valid_document()
    del document["_aws"]["Timestamp"]
    rejects(line(document), "_aws has no Timestamp")


@pytest.mark.parametrize(
    ("timestamp", "described"),
    [
        (1_700_000_000_123.5, "a float"),
        (1.7e12, "a float"),
        ("1700000000123", "a string"),
        (True, "a boolean"),
        (None, "null"),
    ],
)
def test_timestamp_not_an_integer(timestamp: Any, described: str) -> None:
    document = valid_document()
    document["_aws"]["Timestamp"] = timestamp
    rejects(line(document), f"_aws.Timestamp is {described}.*not an integer")


def test_timestamp_before_1970() -> None:
    document = valid_document()
    document["_aws"]["Timestamp"] = -1
    rejects(line(document), "_aws.Timestamp is -1")


def test_missing_cloudwatch_metrics() -> None:
    document = valid_document()
    del document["_aws"]["CloudWatchMetrics"]
    rejects(line(document), "_aws has no CloudWatchMetrics")


def test_cloudwatch_metrics_not_an_array() -> None:
    document = valid_document()
    document["_aws"]["CloudWatchMetrics"] = directive(document)
    rejects(line(document), "_aws.CloudWatchMetrics is an object .*, not an array")


# --- MetricDirective ----------------------------------------------------------------------


def test_directive_not_an_object() -> None:
    document = valid_document()
    document["_aws"]["CloudWatchMetrics"].append("aiobatch")
    rejects(line(document), re.escape("_aws.CloudWatchMetrics[2] is a string"))


def test_unknown_member_in_directive() -> None:
    document = valid_document()
    directive(document)["namespace"] = "lower-case"
    rejects(line(document), re.escape("CloudWatchMetrics[0] has members the spec does not define"))


def test_missing_namespace() -> None:
    document = valid_document()
    del directive(document)["Namespace"]
    rejects(line(document), re.escape("_aws.CloudWatchMetrics[0] has no Namespace"))


def test_empty_namespace() -> None:
    document = valid_document()
    directive(document)["Namespace"] = ""
    rejects(line(document), re.escape("CloudWatchMetrics[0].Namespace is empty"))


def test_namespace_too_long() -> None:
    document = valid_document()
    directive(document)["Namespace"] = "N" * 1025
    rejects(line(document), "Namespace is 1025 characters; the limit is 1024")


def test_namespace_not_a_string() -> None:
    document = valid_document()
    directive(document)["Namespace"] = 7
    rejects(line(document), "Namespace is an integer 7, not a string")


def test_namespace_with_an_escaped_line_break() -> None:
    document = valid_document()
    directive(document)["Namespace"] = "two\nlines"  # escaped by json.dumps: still one line
    rejects(line(document), "Namespace 'two\\\\nlines' contains a line break")


def test_missing_dimensions() -> None:
    document = valid_document()
    del directive(document)["Dimensions"]
    rejects(line(document), re.escape("CloudWatchMetrics[0] has no Dimensions"))


def test_dimensions_empty() -> None:
    document = valid_document()
    directive(document)["Dimensions"] = []
    rejects(line(document), "Dimensions is empty: it needs at least one DimensionSet")


def test_dimensions_not_an_array_of_arrays() -> None:
    document = valid_document()
    directive(document)["Dimensions"] = ["Source"]
    rejects(line(document), re.escape('Dimensions[0] is a string "Source", not a DimensionSet'))


def test_too_many_dimensions_in_a_set() -> None:
    document = valid_document()
    names = [f"d{i}" for i in range(31)]
    directive(document)["Dimensions"] = [names]
    document.update({name: "x" for name in names})
    rejects(line(document), re.escape("Dimensions[0] has 31 dimensions; the limit is 30"))


def test_dimension_name_not_a_string() -> None:
    document = valid_document()
    directive(document)["Dimensions"] = [["Source", 3]]
    rejects(line(document), re.escape("Dimensions[0][1] is an integer 3, not a string"))


def test_dimension_name_empty() -> None:
    document = valid_document()
    directive(document)["Dimensions"] = [[""]]
    document[""] = "x"
    rejects(line(document), re.escape("Dimensions[0][0] is empty"))


def test_dimension_name_too_long() -> None:
    document = valid_document()
    name = "D" * 251
    directive(document)["Dimensions"] = [[name]]
    document[name] = "x"
    rejects(line(document), re.escape("Dimensions[0][0] is 251 characters; the limit is 250"))


def test_dimension_without_a_root_member() -> None:
    document = valid_document()
    del document["FunctionName"]
    message = rejects(line(document), "names dimension 'FunctionName', but the root has no member")
    assert "CloudWatchMetrics[0].Dimensions[1][1]" in message
    assert "CloudWatchMetrics[1].Dimensions[0][0]" in message


def test_dimension_is_not_looked_up_in_nested_objects() -> None:
    document = valid_document()
    directive(document)["Dimensions"] = [["nested.free"]]
    rejects(line(document), "names dimension 'nested.free', but the root has no member")


@pytest.mark.parametrize(
    ("value", "described"),
    [(3, "an integer 3"), (None, "null"), (["sqs"], "an array"), ({"a": "b"}, "an object")],
)
def test_dimension_value_not_a_string(value: Any, described: str) -> None:
    document = valid_document()
    document["Source"] = value
    rejects(
        line(document),
        re.escape(
            f"dimension 'Source' (_aws.CloudWatchMetrics[0].Dimensions[0][0]) has {described}"
        ),
    )


def test_dimension_value_too_long() -> None:
    document = valid_document()
    document["Source"] = "s" * 1025
    rejects(line(document), "has a value of 1025 characters; the limit is 1024")


def test_missing_metrics() -> None:
    document = valid_document()
    del directive(document)["Metrics"]
    rejects(line(document), re.escape("CloudWatchMetrics[0] has no Metrics"))


def test_metrics_not_an_array() -> None:
    document = valid_document()
    directive(document)["Metrics"] = {"Name": "Ratio"}
    rejects(line(document), re.escape("CloudWatchMetrics[0].Metrics is an object"))


def test_too_many_metrics() -> None:
    document = valid_document()
    directive(document)["Metrics"] = [{"Name": f"m{i}"} for i in range(101)]
    document.update({f"m{i}": i for i in range(101)})
    rejects(line(document), "has 101 MetricDefinitions; the limit is 100")


# --- MetricDefinition ---------------------------------------------------------------------


def test_definition_not_an_object() -> None:
    document = valid_document()
    directive(document)["Metrics"].append("Ratio")
    rejects(line(document), re.escape('Metrics[5] is a string "Ratio", not a MetricDefinition'))


def test_unknown_member_in_definition() -> None:
    document = valid_document()
    definition(document)["Value"] = 3
    rejects(line(document), re.escape("Metrics[0] has members the spec does not define: ['Value']"))


def test_missing_metric_name() -> None:
    document = valid_document()
    del definition(document)["Name"]
    rejects(line(document), re.escape("Metrics[0] has no Name"))


def test_metric_name_too_long() -> None:
    document = valid_document()
    name = "M" * 1025
    definition(document)["Name"] = name
    document[name] = 1
    rejects(line(document), "Name is 1025 characters; the limit is 1024")


def test_metric_without_a_root_member() -> None:
    document = valid_document()
    del document["Throughput"]
    rejects(line(document), "names metric 'Throughput', but the root has no member")


@pytest.mark.parametrize(
    ("value", "described"),
    [("10", "a string"), (True, "a boolean"), (None, "null"), ({"v": 1}, "an object")],
)
def test_metric_value_not_numeric(value: Any, described: str) -> None:
    document = valid_document()
    document["RecordsProcessed"] = value
    rejects(
        line(document), f"metric 'RecordsProcessed' .* has {described}.*not a number or an array"
    )


def test_metric_array_with_a_non_number() -> None:
    document = valid_document()
    document["HandlerLatency"] = [1, "2", 3, False]
    message = rejects(line(document), re.escape('value [1] is a string "2"'))
    assert "value [3] is a boolean false" in message


def test_metric_value_overflowing_to_infinity() -> None:
    text = line(valid_document()).replace('"Throughput":12.5', '"Throughput":1e999')
    rejects(text, "metric 'Throughput' .* is an overflowing number Infinity, not a finite number")


def test_too_many_values() -> None:
    document = valid_document()
    document["HandlerLatency"] = [1.0] * 101
    rejects(line(document), "metric 'HandlerLatency' .* has 101 values; the limit is 100")


@pytest.mark.parametrize("unit", ["Millis", "milliseconds", "Count/Minute", ""])
def test_bad_unit(unit: str) -> None:
    document = valid_document()
    definition(document)["Unit"] = unit
    rejects(line(document), re.escape(f"Metrics[0].Unit {unit!r} is not a CloudWatch unit"))


def test_unit_not_a_string() -> None:
    document = valid_document()
    definition(document)["Unit"] = None
    rejects(line(document), re.escape("Metrics[0].Unit is null, not a string"))


@pytest.mark.parametrize("resolution", [0, 5, 30, 59, 61, 120, -1])
def test_bad_storage_resolution(resolution: int) -> None:
    document = valid_document()
    definition(document, 1)["StorageResolution"] = resolution
    rejects(line(document), f"Metrics\\[1\\].StorageResolution is {resolution}; it must be 1 or 60")


@pytest.mark.parametrize(
    ("resolution", "described"), [("60", "a string"), (60.0, "a float"), (True, "a boolean")]
)
def test_storage_resolution_not_an_integer(resolution: Any, described: str) -> None:
    document = valid_document()
    definition(document, 1)["StorageResolution"] = resolution
    rejects(line(document), f"StorageResolution is {described} .*, not an integer")


# --- reporting ----------------------------------------------------------------------------


def test_all_violations_are_reported_together() -> None:
    document = valid_document()
    document["_aws"]["Timestamp"] = "now"
    directive(document)["Namespace"] = ""
    definition(document, 2)["Unit"] = "ms"
    document["HandlerLatency"] = [1] * 101
    del document["Source"]
    message = rejects(line(document), "6 problem")
    for expected in (
        "_aws.Timestamp is a string",
        "Namespace is empty",
        "Unit 'ms' is not a CloudWatch unit",
        "has 101 values",
        "names dimension 'Source'",
    ):
        assert expected in message
    assert SPEC_URL in message
