"""Validates a report folder's OSCAL documents with compliance-trestle (IBM's OSCAL library).

usage: validate_oscal.py REPORT_FOLDER [FRAMEWORK]

FRAMEWORK checks a further framework's set (oscal-FRAMEWORK-catalog.json …) instead of the primary one.

1. The catalog, assessment plan and assessment results load as trestle's OSCAL models.
2. `trestle import` takes each into a new trestle workspace and `trestle validate -a` passes on it.
3. References resolve: the results import the plan by its relative href; every finding's target is an
   assessment objective of a catalog control, that control being the criterion the finding names;
   related observations and risks exist in the result; the controls the plan and results review
   exist in the catalog.

Prints one line per problem and exits 1 if there is any.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from trestle.oscal.assessment_plan import AssessmentPlan
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.catalog import Catalog

def files(framework=None):
    """The set's file names: oscal-catalog.json …, or oscal-KEY-catalog.json … for a further framework."""
    prefix = f"oscal-{framework}-" if framework else "oscal-"
    return {"catalog": f"{prefix}catalog.json", "plan": f"{prefix}assessment-plan.json", "results": f"{prefix}assessment-results.json"}


FILES = files()


def controls(items):
    for control in items or []:
        yield control
        yield from controls(control.controls)


def parts(items):
    for part in items or []:
        yield part
        yield from parts(part.parts)


def main():
    global FILES
    folder = pathlib.Path(sys.argv[1]).resolve()
    if len(sys.argv) > 2:
        FILES = files(sys.argv[2])
        if not (folder / FILES["catalog"]).exists():
            print(f"{FILES['catalog']} is not in {folder}: KEY names a further framework of the run; the primary set is checked without it")
            sys.exit(1)
    problems = []
    try:
        catalog = Catalog.oscal_read(folder / FILES["catalog"])
        plan = AssessmentPlan.oscal_read(folder / FILES["plan"])
        results = AssessmentResults.oscal_read(folder / FILES["results"])
    except Exception as error:  # a model that does not load is the first problem, and stops the rest
        print(f"trestle models: {error}".replace("\n", " "))
        sys.exit(1)

    trestle = shutil.which("trestle", path=os.path.dirname(sys.executable)) or "trestle"
    with tempfile.TemporaryDirectory() as workspace:
        def run(*args):
            done = subprocess.run([trestle, *args], cwd=workspace, capture_output=True, text=True)
            if done.returncode != 0:
                problems.append(f"trestle {' '.join(args[:1])}: exit {done.returncode}: {(done.stdout + done.stderr).strip()}".replace("\n", " "))
            return done.returncode == 0
        if run("init"):
            for name, file in FILES.items():
                run("import", "-f", str(folder / file), "-o", name)
            run("validate", "-a")

    catalog_controls = {c.id: c for group in catalog.groups or [] for c in controls(group.controls)}
    objective_of = {p.id: c.id for c in catalog_controls.values() for p in parts(c.parts) if p.name == "assessment-objective"}
    if results.import_ap.href != FILES["plan"] or not (folder / results.import_ap.href).exists():
        problems.append(f"import-ap href {results.import_ap.href!r} is not the plan beside it")
    for document, reviewed in (("plan", plan.reviewed_controls), *(("results", r.reviewed_controls) for r in results.results)):
        for selection in reviewed.control_selections:
            for chosen in getattr(selection, "include_controls", None) or []:
                if chosen.control_id not in catalog_controls:
                    problems.append(f"{document}: reviewed control {chosen.control_id} is not in the catalog")
    for result in results.results:
        observations = {o.uuid for o in result.observations or []}
        risks = {r.uuid for r in result.risks or []}
        for finding in result.findings or []:
            target = finding.target
            control = objective_of.get(target.target_id)
            if control is None:
                problems.append(f"finding {finding.title!r}: target {target.target_id} is no assessment objective of the catalog")
            elif catalog_controls[control].props and not any(p.name == "label" and p.value == target.title for p in catalog_controls[control].props):
                problems.append(f"finding {finding.title!r}: target {target.target_id} belongs to {control}, not {target.title}")
            for related in finding.related_observations or []:
                if related.observation_uuid not in observations:
                    problems.append(f"finding {finding.title!r}: observation {related.observation_uuid} is not in the result")
            for related in finding.related_risks or []:
                if related.risk_uuid not in risks:
                    problems.append(f"finding {finding.title!r}: risk {related.risk_uuid} is not in the result")
    for p in problems:
        print(p)
    findings = sum(len(r.findings or []) for r in results.results)
    print(f"{len(catalog_controls)} catalog controls, {findings} findings checked with compliance-trestle: {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
