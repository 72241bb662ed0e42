"""A strict checker for one CloudWatch Embedded Metric Format (EMF) log line.

The rules are those of AWS's "Specification: Embedded metric format" in the CloudWatch
user guide, both its prose and the JSON schema the page publishes:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

``check_emf`` reports every broken rule at once, in one ``AssertionError``, each with the
place in the document where it is broken. Limits that only other documents give (the
PutMetricData value range, how old a timestamp CloudWatch Logs accepts, the CloudWatch API's
own name lengths) are deliberately not checked here.
"""

from __future__ import annotations

import json
import math
from typing import Any

SPEC_URL = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
    "CloudWatch_Embedded_Metric_Format_Specification.html"
)

# The spec puts EMF events under the CloudWatch Logs event limits, "1 MB"; counted here as
# 1,048,576 bytes of UTF-8, the way CloudWatch Logs counts an event's size.
MAX_EVENT_BYTES = 1024 * 1024
# Prose: a MetricDirective's Metrics array holds at most 100 MetricDefinitions.
MAX_METRICS_PER_DIRECTIVE = 100
# Prose and schema (maxItems): a DimensionSet names at most 30 dimensions; it may be empty.
MAX_DIMENSIONS_PER_SET = 30
# Prose: an array metric target holds at most 100 numbers.
MAX_VALUES_PER_METRIC = 100
# Prose: a dimension target's string value is at most 1024 characters.
MAX_DIMENSION_VALUE_CHARS = 1024
# Schema: lengths of the names themselves (each at least 1 character).
MAX_DIMENSION_NAME_CHARS = 250
MAX_NAMESPACE_CHARS = 1024
MAX_METRIC_NAME_CHARS = 1024
# Prose: StorageResolution is an integer, 1 (high resolution) or 60 (standard).
STORAGE_RESOLUTIONS = frozenset({1, 60})

ALLOWED_UNITS: frozenset[str] = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
"""The CloudWatch units the schema's ``Unit`` pattern admits (case-sensitive)."""

# The objects the spec defines may carry no other members than these.
_AWS_MEMBERS = frozenset({"Timestamp", "CloudWatchMetrics"})
_DIRECTIVE_MEMBERS = frozenset({"Namespace", "Dimensions", "Metrics"})
_DEFINITION_MEMBERS = frozenset({"Name", "Unit", "StorageResolution"})

# The schema's names all match "^(.*)$"; in JSON Schema (ECMA-262) regexes `.` matches no
# line terminator, so a name must not contain one.
_LINE_TERMINATORS = ("\n", "\r", "\u2028", "\u2029")


class _NotJson(ValueError):
    """A token Python's json module accepts but RFC 8259 does not (NaN, Infinity)."""


def check_emf(line: str) -> dict[str, Any]:
    """Parse one EMF log line, check it against the spec and return the parsed object.

    Raises ``AssertionError`` listing every violation found.
    """
    problems: list[str] = []
    _check_line(line, problems)
    document = _parse(line, problems)
    if document is not None:
        _check_document(document, problems)
    if problems:
        raise AssertionError(_report(line, problems))
    assert document is not None
    return document


def _report(line: str, problems: list[str]) -> str:
    shown = line if len(line) <= 300 else line[:300] + "..."
    listing = "\n".join(f"  - {problem}" for problem in problems)
    return (
        f"not a valid EMF log line: {len(problems)} problem(s) (rules: {SPEC_URL})\n"
        f"{listing}\nline: {shown!r}"
    )


def _check_line(line: str, problems: list[str]) -> None:
    """The event as a whole: one line, one JSON object and nothing around it, size."""
    if any(terminator in line for terminator in ("\n", "\r")):
        problems.append("the line contains a line break: an EMF event must be a single line")
    if line != line.strip(" \t"):
        problems.append("whitespace before or after the JSON object (no data may surround it)")
    size = len(line.encode("utf-8", errors="surrogatepass"))
    if size > MAX_EVENT_BYTES:
        problems.append(f"the line is {size} bytes; an EMF event is at most {MAX_EVENT_BYTES}")


def _parse(line: str, problems: list[str]) -> dict[str, Any] | None:
    """The root object, or None (and a problem) if the line is no JSON object."""
    repeated: list[str] = []

    def build_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        built: dict[str, Any] = {}
        for key, value in pairs:
            if key in built:
                repeated.append(key)
            built[key] = value
        return built

    def reject_constant(token: str) -> Any:
        raise _NotJson(f"{token} is not a JSON value (RFC 8259 has no NaN or Infinity)")

    try:
        parsed = json.loads(line, object_pairs_hook=build_object, parse_constant=reject_constant)
    except _NotJson as error:
        problems.append(f"not JSON: {error}")
        return None
    except json.JSONDecodeError as error:
        problems.append(f"not a single JSON object with nothing after it: {error}")
        return None
    for key in repeated:
        # RFC 8259 wants unique names; a repeated one leaves the target value ambiguous.
        problems.append(f"member name {key!r} appears twice in one object")
    if not isinstance(parsed, dict):
        problems.append(f"the root is {_describe(parsed)}, not a JSON object")
        return None
    return parsed


def _check_document(root: dict[str, Any], problems: list[str]) -> None:
    """The root node and its ``_aws`` metadata object."""
    if "_aws" not in root:
        problems.append("the root object has no _aws member")
        return
    aws = root["_aws"]
    if not isinstance(aws, dict):
        problems.append(f"_aws is {_describe(aws)}, not an object")
        return
    _check_members(aws, _AWS_MEMBERS, "_aws", problems)

    if "Timestamp" not in aws:
        problems.append("_aws has no Timestamp")
    else:
        timestamp = aws["Timestamp"]
        if not _is_integer(timestamp):
            problems.append(
                f"_aws.Timestamp is {_describe(timestamp)}, not an integer (epoch milliseconds)"
            )
        elif timestamp < 0:
            problems.append(f"_aws.Timestamp is {timestamp}: milliseconds since 1970 are >= 0")

    if "CloudWatchMetrics" not in aws:
        problems.append("_aws has no CloudWatchMetrics")
        return
    directives = aws["CloudWatchMetrics"]
    if not isinstance(directives, list):
        problems.append(f"_aws.CloudWatchMetrics is {_describe(directives)}, not an array")
        return
    for index, directive in enumerate(directives):
        _check_directive(root, directive, f"_aws.CloudWatchMetrics[{index}]", problems)


def _check_directive(root: dict[str, Any], directive: Any, where: str, problems: list[str]) -> None:
    """One MetricDirective: Namespace, Dimensions (DimensionSets) and Metrics."""
    if not isinstance(directive, dict):
        problems.append(f"{where} is {_describe(directive)}, not a MetricDirective object")
        return
    _check_members(directive, _DIRECTIVE_MEMBERS, where, problems)

    if "Namespace" not in directive:
        problems.append(f"{where} has no Namespace")
    else:
        _check_name(directive["Namespace"], f"{where}.Namespace", MAX_NAMESPACE_CHARS, problems)

    if "Dimensions" not in directive:
        problems.append(f"{where} has no Dimensions")
    else:
        _check_dimensions(root, directive["Dimensions"], f"{where}.Dimensions", problems)

    if "Metrics" not in directive:
        problems.append(f"{where} has no Metrics")
        return
    metrics = directive["Metrics"]
    if not isinstance(metrics, list):
        problems.append(f"{where}.Metrics is {_describe(metrics)}, not an array")
        return
    if len(metrics) > MAX_METRICS_PER_DIRECTIVE:
        problems.append(
            f"{where}.Metrics has {len(metrics)} MetricDefinitions; "
            f"the limit is {MAX_METRICS_PER_DIRECTIVE}"
        )
    for index, definition in enumerate(metrics):
        _check_definition(root, definition, f"{where}.Metrics[{index}]", problems)


def _check_dimensions(root: dict[str, Any], sets: Any, where: str, problems: list[str]) -> None:
    """The array of DimensionSets, each naming root members whose values are strings."""
    if not isinstance(sets, list):
        problems.append(f"{where} is {_describe(sets)}, not an array of DimensionSets")
        return
    if not sets:
        # The schema's minItems is 1; a directive without dimensions uses one empty set.
        problems.append(f"{where} is empty: it needs at least one DimensionSet (maybe [])")
    for set_index, dimension_set in enumerate(sets):
        set_where = f"{where}[{set_index}]"
        if not isinstance(dimension_set, list):
            problems.append(f"{set_where} is {_describe(dimension_set)}, not a DimensionSet array")
            continue
        if len(dimension_set) > MAX_DIMENSIONS_PER_SET:
            problems.append(
                f"{set_where} has {len(dimension_set)} dimensions; "
                f"the limit is {MAX_DIMENSIONS_PER_SET}"
            )
        for index, name in enumerate(dimension_set):
            name_where = f"{set_where}[{index}]"
            if _check_name(name, name_where, MAX_DIMENSION_NAME_CHARS, problems):
                _check_dimension_target(root, name, name_where, problems)


def _check_dimension_target(
    root: dict[str, Any], name: str, where: str, problems: list[str]
) -> None:
    if name not in root:
        problems.append(f"{where} names dimension {name!r}, but the root has no member {name!r}")
        return
    value = root[name]
    if not isinstance(value, str):
        problems.append(f"dimension {name!r} ({where}) has {_describe(value)}, not a string")
    elif len(value) > MAX_DIMENSION_VALUE_CHARS:
        problems.append(
            f"dimension {name!r} ({where}) has a value of {len(value)} characters; "
            f"the limit is {MAX_DIMENSION_VALUE_CHARS}"
        )


def _check_definition(
    root: dict[str, Any], definition: Any, where: str, problems: list[str]
) -> None:
    """One MetricDefinition: Name (a root member holding numbers), Unit, StorageResolution."""
    if not isinstance(definition, dict):
        problems.append(f"{where} is {_describe(definition)}, not a MetricDefinition object")
        return
    _check_members(definition, _DEFINITION_MEMBERS, where, problems)

    if "Name" not in definition:
        problems.append(f"{where} has no Name")
    else:
        name = definition["Name"]
        if _check_name(name, f"{where}.Name", MAX_METRIC_NAME_CHARS, problems):
            _check_metric_target(root, name, f"{where}.Name", problems)

    if "Unit" in definition:
        unit = definition["Unit"]
        if not isinstance(unit, str):
            problems.append(f"{where}.Unit is {_describe(unit)}, not a string")
        elif unit not in ALLOWED_UNITS:
            problems.append(
                f"{where}.Unit {unit!r} is not a CloudWatch unit (see ALLOWED_UNITS; "
                "units are case-sensitive)"
            )

    if "StorageResolution" in definition:
        resolution = definition["StorageResolution"]
        if not _is_integer(resolution):
            problems.append(f"{where}.StorageResolution is {_describe(resolution)}, not an integer")
        elif resolution not in STORAGE_RESOLUTIONS:
            problems.append(f"{where}.StorageResolution is {resolution}; it must be 1 or 60")


def _check_metric_target(root: dict[str, Any], name: str, where: str, problems: list[str]) -> None:
    if name not in root:
        problems.append(f"{where} names metric {name!r}, but the root has no member {name!r}")
        return
    value = root[name]
    if _is_number(value):
        if not math.isfinite(value):
            problems.append(f"metric {name!r} ({where}) is {_describe(value)}, not a finite number")
        return
    if not isinstance(value, list):
        problems.append(
            f"metric {name!r} ({where}) has {_describe(value)}, not a number or an array of numbers"
        )
        return
    if len(value) > MAX_VALUES_PER_METRIC:
        problems.append(
            f"metric {name!r} ({where}) has {len(value)} values; "
            f"the limit is {MAX_VALUES_PER_METRIC}"
        )
    for index, item in enumerate(value):
        if not _is_number(item):
            problems.append(f"metric {name!r} ({where}) value [{index}] is {_describe(item)}")
        elif not math.isfinite(item):
            problems.append(
                f"metric {name!r} ({where}) value [{index}] is {_describe(item)}, not finite"
            )


def _check_name(value: Any, where: str, max_chars: int, problems: list[str]) -> bool:
    """A namespace, dimension or metric name; True if it is a string (so worth resolving)."""
    if not isinstance(value, str):
        problems.append(f"{where} is {_describe(value)}, not a string")
        return False
    if not value:
        problems.append(f"{where} is empty: it needs at least 1 character")
    elif len(value) > max_chars:
        problems.append(f"{where} is {len(value)} characters; the limit is {max_chars}")
    if any(terminator in value for terminator in _LINE_TERMINATORS):
        problems.append(f"{where} {value!r} contains a line break")
    return True


def _check_members(
    obj: dict[str, Any], allowed: frozenset[str], where: str, problems: list[str]
) -> None:
    """Objects the spec defines carry only the members it defines (names are case-sensitive)."""
    unknown = sorted(set(obj) - allowed)
    if unknown:
        problems.append(f"{where} has members the spec does not define: {unknown}")


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    """A short JSON-flavoured description of a value, for problem texts."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, int):
        kind = "an integer"
    elif isinstance(value, float):
        kind = "a float" if math.isfinite(value) else "an overflowing number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, list):
        kind = "an array"
    else:
        kind = "an object"
    text = json.dumps(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"
