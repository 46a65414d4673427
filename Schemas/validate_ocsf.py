"""Validates OCSF Compliance Finding events (one JSON object per line) with three tools nobody here wrote.

usage: validate_ocsf.py EVENTS.jsonl [OCSF_VERSION]

1. py-ocsf-models (the OCSF models Prowler uses): every line loads as a ComplianceFinding.
2. ocsf-json-schema: every line is valid against the JSON Schema (Draft 2020-12) of the
   compliance_finding class at the OCSF version, generated from the OCSF schema export it ships.
3. ocsf-lib: the same OCSF schema export loaded as ocsf-lib's schema model; every attribute of the
   event and of its objects exists there, every required attribute is present (profiles the
   events do not declare are not applied), and every enum value (`*_id`) is one the schema lists.
   ocsf-lib has no event validator of its own (its `validate` compares schema versions), so the
   check walks its model.

Prints one line per problem (`line N: tool: problem`) and exits 1 if there is any.
"""

import glob
import json
import os
import sys

from jsonschema import Draft202012Validator
from ocsf.schema import from_file
import ocsf_json_schema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

CLASS = "compliance_finding"


def schema_export(version):
    paths = glob.glob(os.path.join(os.path.dirname(ocsf_json_schema.__file__), "ocsf", version + ".json"))
    if not paths:
        sys.exit(f"ocsf-json-schema ships no OCSF {version} export")
    return paths[0]


def walk(model, attributes, value, where, problems, declared_profiles):
    """Checks `value` (a dict) against `attributes` (ocsf-lib OcsfAttr by name)."""
    for name, attr in attributes.items():
        if attr.requirement == "required" and name not in value and (attr.profile is None or attr.profile in declared_profiles):
            problems.append(f"{where}: required attribute '{name}' is missing")
    for name, item in value.items():
        if name == "unmapped":  # free-form by definition: what has no OCSF attribute
            continue
        attr = attributes.get(name)
        if attr is None:
            problems.append(f"{where}: '{name}' is not an attribute of the schema")
            continue
        if attr.deprecated is not None:
            problems.append(f"{where}: '{name}' is deprecated in this version")
        items = item if attr.is_array and isinstance(item, list) else [item]
        for i, element in enumerate(items):
            path = f"{where}.{name}" + (f"[{i}]" if attr.is_array else "")
            if attr.enum and name.endswith("_id") and str(element) not in attr.enum:
                problems.append(f"{path}: {element!r} is not one of {sorted(attr.enum, key=int)}")
            # A name beside its id (status beside status_id, …) is the enum's caption, or the source's
            # own word when the id is 99 (Other).
            sibling = name[:-3] if name.endswith("_id") else None
            if attr.enum and sibling and sibling in value and str(element) in attr.enum and str(element) != "99":
                caption = attr.enum[str(element)].caption
                if value[sibling] != caption:
                    problems.append(f"{where}.{sibling}: {value[sibling]!r} is not the caption of {name} {element} ({caption!r})")
            if attr.object_type and isinstance(element, dict) and attr.object_type in model.objects:
                walk(model, model.objects[attr.object_type].attributes, element, path, problems, declared_profiles)


def main():
    events_path = sys.argv[1]
    version = sys.argv[2] if len(sys.argv) > 2 else "1.5.0"
    export = schema_export(version)
    model = from_file(export)
    event_class = model.classes[CLASS]
    validator = Draft202012Validator(OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version)).get_class_schema(class_name=CLASS, profiles=[]))
    problems = []
    count = 0
    with open(events_path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            count += 1
            try:
                event = json.loads(text)
            except ValueError as error:
                problems.append(f"line {number}: json: {error}")
                continue
            try:
                ComplianceFinding.model_validate(event)
            except Exception as error:  # pydantic's ValidationError, or anything the model raises
                problems.append(f"line {number}: py-ocsf-models: {error}".replace("\n", " "))
            for error in validator.iter_errors(event):
                problems.append(f"line {number}: ocsf-json-schema: {'/'.join(map(str, error.absolute_path))}: {error.message}")
            found = []
            declared = set((event.get("metadata") or {}).get("profiles") or [])
            walk(model, event_class.attributes, event, "event", found, declared)
            problems.extend(f"line {number}: ocsf-lib {version}: {p}" for p in found)
            if event.get("class_uid") != event_class.uid:
                problems.append(f"line {number}: class_uid {event.get('class_uid')} is not {CLASS} ({event_class.uid})")
            elif event.get("type_uid") != event_class.uid * 100 + (event.get("activity_id") or 0):
                problems.append(f"line {number}: type_uid {event.get('type_uid')} is not class_uid * 100 + activity_id")
    for p in problems:
        print(p)
    print(f"{count} events checked against OCSF {version}: {len(problems)} problems")
    sys.exit(1 if problems or count == 0 else 0)


if __name__ == "__main__":
    main()
