"""All gateway configuration, from environment variables (prefix TRIAGE_)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from client.core.buckets import DEFAULT_BUCKETS
from helpline_model.layout import DEFAULT_MODEL_NAME, DEFAULT_REPOSITORY

# A segment message's JSON beyond its text: type, seq, quotes, spaces.
MESSAGE_ENVELOPE_BYTES = 4096


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8123

    # Triton endpoints, comma-separated host:port (gRPC or HTTP ports per `protocol`).
    triton_urls: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1:8001"])
    protocol: str = "grpc"  # grpc | http
    model_name: str = DEFAULT_MODEL_NAME
    # Empty: the highest version Triton reports ready, re-checked periodically.
    model_version: str = ""
    # Where the gateway reads each version's tokenizer and label files.
    model_repository: Path = DEFAULT_REPOSITORY
    version_refresh_s: float = 10.0
    health_check_interval_s: float = 1.0
    # A health check with no answer within this time takes the replica out (a stopped or
    # hung server accepts connections and never answers).
    health_check_timeout_s: float = Field(default=2.0, gt=0)
    # While another healthy replica could take a call, one attempt may use this fraction of
    # the time left (at least `attempt_timeout_min_s`); a replica that does not answer in it
    # is taken out and the call retried elsewhere. The last candidate gets all the time left.
    attempt_timeout_fraction: float = Field(default=0.5, gt=0, le=1)
    attempt_timeout_min_s: float = Field(default=1.0, ge=0)

    # Chunking: 0 means "the model's max length" / "scaled default overlap".
    max_length: int = 0
    overlap: int = -1
    buckets: Annotated[list[int], NoDecode] = Field(default_factory=lambda: list(DEFAULT_BUCKETS))
    # balanced: the greedy number of chunks, cut to about equal lengths (less padding);
    # greedy: fill each chunk to the model length (client/core/chunking.py explains both).
    chunking: Literal["balanced", "greedy"] = "balanced"
    # Chunks per Triton request; longer narratives are split into several requests.
    max_chunks_per_request: int = 32

    top_k: int = 3
    band_high_above: float = 0.85
    band_medium_from: float = 0.60
    # < 0: the version's own (its calibration.json operating point, else the severity file's).
    escalation_threshold: float = -1.0

    request_timeout_s: float = 30.0
    max_body_bytes: int = 1_000_000
    max_narrative_chars: int = 50_000
    max_batch_items: int = 64
    # Backpressure: narratives being classified at once; beyond it, a fast 429.
    max_in_flight: int = 128
    # The queue in front of the service: HTTP requests inside the gateway at once (bodies
    # being received included; probes and /metrics not counted); beyond it a fast 429
    # before the body is read. `backlog`: connections the kernel holds for accept().
    max_requests: int = Field(default=256, ge=1)
    backlog: int = Field(default=128, ge=1)
    # On SIGTERM: readiness fails and new work gets 503 at once; after this delay (time for
    # a load balancer to notice) the server stops accepting and finishes what it holds.
    drain_delay_s: float = 5.0
    # Optional authentication: comma-separated keys, sent as `Authorization: Bearer KEY`
    # or `X-API-Key: KEY`. Empty: no authentication.
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Browser origins allowed to open WebSocket streams, comma-separated (e.g.
    # https://console.example.org); others get 403 before the upgrade. Empty: any origin.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Secret of the HMAC that hashes narratives in log lines, shared by a deployment's
    # gateways so their lines correlate. Empty: a random secret per process.
    log_hash_key: SecretStr = SecretStr("")

    # Live-call streaming sessions (client/streaming/sessions.py). Each open session holds at most
    # `stream_max_chars` of transcript in memory, so memory is bounded by the two caps.
    stream_max_sessions: int = 200
    stream_idle_timeout_s: float = 300.0
    stream_max_chars: int = 50_000  # keep <= max_narrative_chars so the final can be classified
    # Largest WebSocket message the server reads (uvicorn `ws_max_size`; bigger closes the
    # socket with 1009), so open sessions x this bounds the memory of messages being read.
    # 0: a segment of `stream_max_chars` characters even with each one JSON-escaped
    # (`\uXXXX`, 6 bytes), plus room for the envelope.
    stream_max_message_bytes: int = Field(default=0, ge=0)
    # Interim classification of the open tail (text past the last closed chunk): when it has
    # at least `stream_tail_min_tokens` tokens and has grown by the factor 1 + growth since it
    # was last classified (growth > 0 keeps the work bounded). 0 tokens: the tail is
    # classified only on close.
    stream_tail_min_tokens: int = 32
    stream_tail_growth: float = 1.0
    # This gateway's name among several (e.g. its compose service name). Streaming session
    # ids start with it ("gateway-0.<random>") so that a load balancer can send every call of
    # an HTTP session to the gateway that holds it (deploy/nginx/nginx.conf).
    instance_id: str = Field(default="", pattern=r"^[A-Za-z0-9-]{0,63}$")
    # Escalation alerts of streaming sessions are also POSTed here (no transcript text).
    alert_webhook_url: str = ""
    alert_webhook_timeout_s: float = 5.0
    alert_webhook_retries: int = 3

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _message_bytes(self) -> GatewaySettings:
        if self.stream_max_message_bytes == 0:
            self.stream_max_message_bytes = 6 * self.stream_max_chars + MESSAGE_ENVELOPE_BYTES
        return self

    @field_validator("triton_urls", mode="before")
    @classmethod
    def _urls(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("api_keys", "allowed_origins", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("buckets", mode="before")
    @classmethod
    def _buckets(cls, value: object) -> object:
        parts = _split_csv(value)
        return [int(p) for p in parts] if isinstance(parts, list) else parts

    @field_validator("escalation_threshold")
    @classmethod
    def _escalation_threshold(cls, value: float) -> float:
        # Checked at start-up: an out-of-range value would otherwise fail every classification.
        if not (value < 0 or 0.0 <= value <= 1.0):
            raise ValueError("escalation_threshold is a probability in [0, 1] (< 0: the model's)")
        return value

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value not in ("grpc", "http"):
            raise ValueError("protocol must be grpc or http")
        return value
