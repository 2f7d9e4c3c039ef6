#!/usr/bin/env python3
"""Judges a corpus of raw CloudEvents with the published JSON Schemas (schemas/events).

Reads JSON lines {"name": ..., "raw": "<event text>"} on stdin and prints one
line per sample: "<name>\tvalid" or "<name>\tinvalid". The Swift decoder's
verdicts are compared against these by the test suite.
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "schemas" / "events"


def strict_object(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate member name")  # I-JSON, as the contract requires
    return dict(pairs)


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def load_validators():
    validators = {}
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        validators[schema["title"]] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validators


def verdict(validators, raw):
    try:
        event = json.loads(raw, object_pairs_hook=strict_object, parse_constant=reject_constant)
    except ValueError:
        return "invalid"
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "invalid"
    validator = validators.get(event["type"])
    if validator is None:
        return "invalid"
    return "valid" if validator.is_valid(event) else "invalid"


def main():
    validators = load_validators()
    for line in sys.stdin:
        sample = json.loads(line)
        print(f"{sample['name']}\t{verdict(validators, sample['raw'])}")


if __name__ == "__main__":
    main()
