"""deploy/k8s/ validated offline: built-in kinds against the Kubernetes JSON schemas
(kubernetes-validate's, strict: an unknown field is an error), custom resources
against the openAPIV3Schema of their published CRDs kept in deploy/k8s/crds/; and
the manifests say what the Procfile and the app say."""

from __future__ import annotations

import copy
import re
import shlex
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.processes import ROOT, procfile_command

K8S = ROOT / "deploy" / "k8s"
CRDS = K8S / "crds"
# The oldest Kubernetes the manifests support, and the newest the schemas know.
VERSIONS = ("1.32.0", kubernetes_validate.utils.latest_version() + ".0")


def manifests() -> list[tuple[Path, dict]]:
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        if CRDS not in path.parents:
            found += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _closed(schema):
    """The CRD schema with unknown fields refused, as strict Kubernetes schemas do
    (the API server would silently prune them: a typo would go unnoticed)."""
    if isinstance(schema, dict):
        schema = {key: _closed(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the published schema of every CRD kept in the repo."""
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd:
                continue
            for version in crd["spec"]["versions"]:
                api_version = f"{crd['spec']['group']}/{version['name']}"
                schemas[(api_version, crd["spec"]["names"]["kind"])] = _closed(version["schema"]["openAPIV3Schema"])
    return schemas


def validate(doc: dict) -> None:
    custom = crd_schemas().get((doc["apiVersion"], doc["kind"]))
    if custom is not None:
        jsonschema.Draft7Validator(custom).validate(doc)
        return
    for version in VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


def by_name(kind: str, name: str, folder: str) -> dict:
    return next(
        doc
        for path, doc in manifests()
        if path.parent.name == folder and (doc["kind"], doc["metadata"]["name"]) == (kind, name)
    )


def test_every_manifest_is_valid_offline():
    kinds = set()
    for path, doc in manifests():
        try:
            validate(doc)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as exc:
            pytest.fail(f"{path.relative_to(ROOT)}: {doc['kind']} {doc['metadata']['name']}: {exc.message}")
        kinds.add(doc["kind"])

    assert {"Job", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds
    assert {"Rollout", "AnalysisTemplate", "ScaledObject"} <= kinds  # checked against their CRDs


@pytest.mark.parametrize(
    ("kind", "name", "folder", "path", "wrong"),
    [
        ("Deployment", "foodiefast-web", "rolling", ["spec", "strategy", "rollingUpdate", "maxUnavailabel"], 0),
        ("Deployment", "foodiefast-web", "rolling", ["spec", "replicas"], "three"),
        ("Rollout", "foodiefast-web", "canary", ["spec", "strategy", "canary", "stepz"], []),
        ("AnalysisTemplate", "foodiefast-canary", "canary", ["spec", "metrics", 0, "sucessCondition"], "x"),
        ("ScaledObject", "foodiefast-worker", "base", ["spec", "minReplicaCount"], "two"),
    ],
)
def test_a_mistake_is_caught(kind, name, folder, path, wrong):
    doc = copy.deepcopy(by_name(kind, name, folder))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = wrong

    with pytest.raises((jsonschema.ValidationError, kubernetes_validate.ValidationError)):
        validate(doc)


def pod_specs() -> list[tuple[str, dict]]:
    """(where, pod spec) of every web pod template: rolling, both blue-green slots, canary."""
    found = []
    for path, doc in manifests():
        if doc["kind"] in ("Deployment", "Rollout") and doc["metadata"]["labels"].get("process") == "web":
            found.append((f"{path.parent.name}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]))
    return found


def option(command: str, name: str) -> int:
    return int(re.search(rf"{name} (\d+)", command).group(1))


def test_web_pods_run_the_procfile_line_drain_before_stopping_and_probe_health():
    web_line = procfile_command("web")
    specs = pod_specs()
    assert len(specs) == 4  # rolling, blue, green, canary

    for where, spec in specs:
        (container,) = spec["containers"]
        command = container["args"][0]
        assert command == web_line, where
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", where
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", where
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep", where
        # Taken out of the endpoints, then gunicorn's graceful drain, within the grace period.
        assert spec["terminationGracePeriodSeconds"] > int(pre_stop[1]) + option(command, "--graceful-timeout"), where


def test_capacity_never_drops_during_a_rollout():
    for path, doc in manifests():
        if doc["kind"] == "Deployment" and doc["metadata"]["labels"].get("process") == "web":
            assert doc["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, path
    assert by_name("Rollout", "foodiefast-web", "canary")["spec"]["strategy"]["canary"]["maxUnavailable"] == 0


def test_worker_and_beat_run_the_procfile_lines_and_beat_is_alone():
    worker = by_name("Deployment", "foodiefast-worker", "base")["spec"]["template"]["spec"]["containers"][0]
    expected = procfile_command("worker").replace("${CELERY_CONCURRENCY:-2}", "2")
    assert shlex.join(worker["command"]) == expected
    beat = by_name("Deployment", "foodiefast-beat", "base")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"  # never two during a rollout
    assert shlex.join(beat["spec"]["template"]["spec"]["containers"][0]["command"]) == procfile_command("beat")
    release = by_name("Job", "foodiefast-release", "base")["spec"]["template"]["spec"]["containers"][0]
    assert shlex.join(release["command"]) == procfile_command("release")


def test_the_canary_aborts_on_errors_above_1_percent_or_p99_above_twice_stable():
    metrics = {m["name"]: m for m in by_name("AnalysisTemplate", "foodiefast-canary", "canary")["spec"]["metrics"]}

    errors, p99 = metrics["error-rate"], metrics["p99-against-stable"]
    assert errors["failureCondition"] == "result[0] > 0.01"
    assert p99["failureCondition"] == "result[0] > 2"
    for metric in (errors, p99):
        query = metric["provider"]["prometheus"]["query"]
        assert ">= 500)" in query  # judged over at least 500 requests, else inconclusive
    assert "foodiefast_http_requests_total" in errors["provider"]["prometheus"]["query"]
    assert "foodiefast_http_request_duration_seconds_bucket" in p99["provider"]["prometheus"]["query"]
    canary = by_name("Rollout", "foodiefast-web", "canary")["spec"]["strategy"]["canary"]
    assert canary["analysis"]["templates"] == [{"templateName": "foodiefast-canary"}]


def test_blue_green_keeps_a_live_and_a_preview_service_on_the_two_slots():
    live = by_name("Service", "foodiefast-web-live", "blue-green")["spec"]["selector"]
    preview = by_name("Service", "foodiefast-web-preview", "blue-green")["spec"]["selector"]
    assert {live["slot"], preview["slot"]} == {"blue", "green"}
    for slot in ("blue", "green"):
        assert (
            by_name("Deployment", f"foodiefast-web-{slot}", "blue-green")["spec"]["selector"]["matchLabels"]["slot"]
            == slot
        )


def test_autoscalers_watch_cpu_and_the_celery_queues_on_metrics():
    hpa = by_name("HorizontalPodAutoscaler", "foodiefast-web", "rolling")
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    scaled = by_name("ScaledObject", "foodiefast-worker", "base")
    queries = " ".join(t["metadata"]["query"] for t in scaled["spec"]["triggers"])
    from foodiefast.metrics import celery_queues

    for queue in celery_queues():  # every queue a task may wait in
        assert queue in queries
    assert "foodiefast_celery_queue_depth" in queries
