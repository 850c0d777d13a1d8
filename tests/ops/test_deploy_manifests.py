"""The deployment files: Kubernetes manifests against the Kubernetes JSON schemas (kubernetes-validate ships
them), and the compose file, haproxy config and manifests against what the gateway really reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gateway.preflight import known_variables

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.30.0"  # the oldest release with the preStop `sleep` action


def _documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    documents = []
    for name in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()) if d]
    return documents


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_every_manifest_file_is_in_the_kustomization() -> None:
    listed = set(yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize("document", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_manifest_is_valid_against_the_kubernetes_schema(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)  # raises on any schema violation


def test_a_wrong_manifest_is_refused() -> None:
    bad = {**_one("Service", "offsets-gateway"), "spec": {"ports": [{"port": "eighty"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_the_deployment_probes_the_health_endpoints_and_runs_as_non_root() -> None:
    pod = _one("Deployment", "offsets-gateway")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert {p["name"] for p in container["ports"]} >= {container["livenessProbe"]["httpGet"]["port"]}


def test_selectors_and_targets_match() -> None:
    deployment = _one("Deployment", "offsets-gateway")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert _one("Service", "offsets-gateway")["spec"]["selector"].items() <= labels.items()
    assert (
        _one("PodDisruptionBudget", "offsets-gateway")["spec"]["selector"]["matchLabels"].items()
        <= labels.items()
    )
    target = _one("HorizontalPodAutoscaler", "offsets-gateway")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "offsets-gateway")
    hpa = _one("HorizontalPodAutoscaler", "offsets-gateway")["spec"]
    # The PDB lets one pod go; the HPA never scales below what survives that.
    assert hpa["minReplicas"] >= 2 and deployment["spec"]["replicas"] >= hpa["minReplicas"]


def test_the_configuration_names_only_variables_the_gateway_reads() -> None:
    known = known_variables()
    config = _one("ConfigMap", "offsets-gateway")["data"]
    secret = _one("Secret", "offsets-gateway")["stringData"]
    (container,) = _one("Deployment", "offsets-gateway")["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    for name in [*config, *env]:
        assert name in known or name.startswith("OTEL_"), name  # OTEL_*: read by the OpenTelemetry SDK
    for item in env.values():
        assert item["valueFrom"]["secretKeyRef"]["key"] in secret
    assert config["GATEWAY_REDIS_URL"].startswith("redis://offsets-gateway-redis:")
    _one("Service", "offsets-gateway-redis")


def test_compose_runs_three_replicas_sharing_redis_behind_haproxy() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    gateways = sorted(name for name in services if name.startswith("gateway-"))
    assert gateways == ["gateway-1", "gateway-2", "gateway-3"]
    for name in gateways:
        env = services[name]["environment"]
        assert env["GATEWAY_REDIS_URL"] == "redis://redis:6379/0"
        assert all(v in known_variables() or v.startswith("OTEL_") for v in env), env
    haproxy = (DEPLOY / "haproxy.cfg").read_text()
    for name in gateways:
        assert f"server {name} {name}:8000" in haproxy
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in services["haproxy"]["volumes"]


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is installed by scripts/test")
def test_haproxy_accepts_the_config() -> None:
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
