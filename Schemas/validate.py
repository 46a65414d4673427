#!/usr/bin/env python3
"""Validates a report folder's JSON against the shipped schemas.

    validate.py SCHEMA_DIR REPORT_JSON POPULATIONS_JSONL
    validate.py --records FILE

The second form checks a file of canonical records (`snapshot --format jsonl`, or a converter's
output; gzip when it ends in .gz) line by line against canonical-records.schema.json beside this
script, printing `line N: PATH: message` per error.

report.json is checked against SCHEMA_DIR/report.schema.json, and every line of populations.jsonl
against SCHEMA_DIR/population-item.schema.json, with jsonschema's Draft 2020-12 validator and format
checking. report.json's "$schema" must name the report schema's "$id". The JSON itself is read
strictly: a repeated key in an object, NaN or Infinity, or an empty line is an error too.

Prints one line per error with its JSON path (populations.jsonl errors also give the line number)
and exits 1 if there is any, 2 on bad usage or an unreadable file, 0 when everything is valid.
Needs the jsonschema package (4.18 or later): `make test-deps` installs it in .build/venv.
"""

import json
import os
import sys

from jsonschema import Draft202012Validator

REPORT_SCHEMA = "report.schema.json"
RECORDS_SCHEMA = "canonical-records.schema.json"
ITEM_SCHEMA = "population-item.schema.json"
# Errors printed per file; all are counted.
SHOWN = 50


class StrictJSONError(ValueError):
    pass


def _object(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise StrictJSONError(f"repeated key {key!r}")
        seen[key] = value
    return seen


def _constant(name):
    raise StrictJSONError(f"{name} is not JSON")


def parse(text):
    return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return schema


def validator(schema):
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(validator, instance):
    """(JSON path, message) of every error, in document order."""
    def key(error):
        return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in error.absolute_path]
    return [(error.json_path, error.message) for error in sorted(validator.iter_errors(instance), key=key)]


def records(path):
    """Every line of a canonical-records file against its schema; blank lines are allowed (readers skip them)."""
    import gzip
    schema = load_schema(os.path.join(os.path.dirname(os.path.abspath(__file__)), RECORDS_SCHEMA))
    check = validator(schema)
    failures = valid = 0
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as f:
            for number, line in enumerate(f, start=1):
                text = line.rstrip("\r\n")
                if not text.strip():
                    continue
                try:
                    problems = errors(check, parse(text))
                except ValueError as e:
                    problems = [("$", f"not valid JSON: {e}")]
                for where, message in problems:
                    failures += 1
                    if failures <= SHOWN:
                        print(f"line {number}: {where}: {message}")
                valid += not problems
    except OSError as e:
        print(f"cannot read {path}: {e}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print(f"{path}: not UTF-8: {e}")
        return 1
    if failures:
        if failures > SHOWN:
            print(f"… {failures - SHOWN} more errors")
        print(f"{failures} error{'s' if failures != 1 else ''} in {path}; {valid} records valid")
        return 1
    print(f"{path}: {valid} records valid")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--records":
        return records(argv[2])
    if len(argv) != 4:
        print(f"usage: {os.path.basename(argv[0])} SCHEMA_DIR REPORT_JSON POPULATIONS_JSONL | --records FILE", file=sys.stderr)
        return 2
    schema_dir, report_path, listing_path = argv[1:]
    try:
        report_schema = load_schema(os.path.join(schema_dir, REPORT_SCHEMA))
        item_schema = load_schema(os.path.join(schema_dir, ITEM_SCHEMA))
    except (OSError, ValueError) as e:
        print(f"cannot use the schemas in {schema_dir}: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # jsonschema.SchemaError: the schema itself is not valid 2020-12
        print(f"{schema_dir}: invalid schema: {e}", file=sys.stderr)
        return 2

    failures = 0

    def report(where, path, message):
        nonlocal failures
        failures += 1
        if failures <= SHOWN:
            print(f"{where}: {path}: {message}")

    # report.json
    name = os.path.basename(report_path)
    try:
        with open(report_path, encoding="utf-8") as f:
            document = parse(f.read())
    except OSError as e:
        print(f"cannot read {report_path}: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        report(name, "$", f"not valid JSON: {e}")
        document = None
    if document is not None:
        if isinstance(document, dict) and document.get("$schema") != report_schema.get("$id"):
            report(name, "$['$schema']", f"{document.get('$schema')!r} is not this schema's $id {report_schema.get('$id')!r}")
        for path, message in errors(validator(report_schema), document):
            report(name, path, message)

    # populations.jsonl: every line.
    name = os.path.basename(listing_path)
    item_validator = validator(item_schema)
    lines = 0
    try:
        with open(listing_path, encoding="utf-8", newline="") as f:
            for number, line in enumerate(f, start=1):
                lines += 1
                where = f"{name} line {number}"
                if not line.endswith("\n"):
                    report(where, "$", "the line does not end with a newline")
                text = line[:-1] if line.endswith("\n") else line
                if text.endswith("\r"):
                    report(where, "$", "the line ends with a carriage return")
                    text = text[:-1]
                if not text:
                    report(where, "$", "empty line")
                    continue
                try:
                    item = parse(text)
                except ValueError as e:
                    report(where, "$", f"not valid JSON: {e}")
                    continue
                for path, message in errors(item_validator, item):
                    report(where, path, message)
    except OSError as e:
        print(f"cannot read {listing_path}: {e}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        report(name, "$", f"not UTF-8: {e}")

    if failures:
        if failures > SHOWN:
            print(f"… {failures - SHOWN} more errors")
        print(f"{failures} error{'s' if failures != 1 else ''}: {report_path} and {listing_path} ({lines} lines) do not follow the schemas in {schema_dir}")
        return 1
    print(f"valid: {report_path} and {lines} lines of {listing_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
