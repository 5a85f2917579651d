"""Runtime version control on a running Triton (explicit model-control mode).

Rollback loads the model again with a config override whose version policy names the
versions to serve; "follow latest" reloads it from the repository's own config. The
override lives in the server until it restarts; for a rollback that survives restarts,
remove the newer version folder or pin it in the model's config file (docs/operations.md).
Both directions swap versions in place: the model stays available throughout.
"""

from __future__ import annotations

import json

import tritonclient.http as httpclient


def _client(url: str) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(url=url, network_timeout=120.0)


def served_versions(url: str, model: str) -> list[int]:
    metadata = _client(url).get_model_metadata(model)
    return sorted(int(v) for v in metadata["versions"])


def _reload_with_policy(url: str, model: str, policy: dict) -> list[int]:
    client = _client(url)
    config = client.get_model_config(model)
    config["version_policy"] = policy
    client.load_model(model, config=json.dumps(config))
    return served_versions(url, model)


def pin_versions(url: str, model: str, versions: list[int]) -> list[int]:
    """Serve exactly `versions` (the highest answers requests that name no version)."""
    return _reload_with_policy(url, model, {"specific": {"versions": [int(v) for v in versions]}})


def follow_latest(url: str, model: str, num_versions: int = 2) -> list[int]:
    """Back to the newest versions. Triton does not re-read an unchanged repository on a
    plain reload, so the policy is sent explicitly (2 = the committed configs' value)."""
    return _reload_with_policy(url, model, {"latest": {"num_versions": num_versions}})
