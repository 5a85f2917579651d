"""Request and response bodies of the REST API (one place; the OpenAPI document is built
from these)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

# Text the model can read has at least one ASCII letter or digit; the service refuses any
# other narrative with 400 (`ClassifierService.check_narrative`). The OpenAPI document
# carries the same pattern, so that it says exactly which narratives are accepted (the
# length limit is added from the settings: `client.http.app.document_limits`).
READABLE_PATTERN = "[A-Za-z0-9]"
READABLE = re.compile(READABLE_PATTERN)


def _narrative_schema(description: str) -> Any:
    def schema(field: dict[str, Any]) -> None:
        field.clear()  # a string, never null: omit the field instead
        field.update(type="string", minLength=1, pattern=READABLE_PATTERN, description=description)

    return schema


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": ["narrative"]}, {"required": ["text_transcript"]}]
        },
    )

    narrative: StrictStr | None = Field(
        None,
        json_schema_extra=_narrative_schema(
            "The case narrative or transcript (this or `text_transcript`)."
        ),
    )
    text_transcript: StrictStr | None = Field(
        None,
        json_schema_extra=_narrative_schema("Older name of `narrative`, still accepted."),
    )
    include_chunks: StrictBool = Field(False, description="Return per-chunk predictions.")

    @field_validator("narrative", "text_transcript", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only values sent are checked: a null is refused as the document says.
        if value is None:
            raise ValueError("must be a string; omit the field instead of null")
        return value

    @model_validator(mode="after")
    def _one_text_field(self) -> ClassifyRequest:
        if self.narrative is None and self.text_transcript is None:
            raise ValueError("`narrative` is required")
        if self.narrative is not None and self.text_transcript is not None:
            raise ValueError("send `narrative` or `text_transcript`, not both")
        return self

    @property
    def text(self) -> str:
        return self.narrative if self.narrative is not None else str(self.text_transcript)

    @property
    def text_field(self) -> str:
        return "narrative" if self.narrative is not None else "text_transcript"


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    narrative: StrictStr = Field(..., json_schema_extra=_narrative_schema("A case narrative."))
    id: StrictStr | None = Field(None, max_length=128, description="Caller's id, echoed back.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(..., min_length=1)
    include_chunks: StrictBool = False


class LabelScore(BaseModel):
    label: str
    probability: float


class HeadPrediction(BaseModel):
    label: str
    confidence: float = Field(..., description="Aggregated probability of `label`.")
    band: Literal["high", "medium", "low"]
    top_k: list[LabelScore]


class Escalation(BaseModel):
    enabled: bool
    escalated: bool
    level: str | None = Field(None, description="Most severe priority level.")
    voted_priority: str
    threshold: float | None
    chunk_index: int | None = Field(None, description="Chunk that triggered the escalation.")
    chunk_confidence: float | None
    reason: str


class ChunkPrediction(BaseModel):
    index: int
    token_count: int
    token_start: int
    token_end: int
    char_start: int
    char_end: int
    labels: dict[str, str]
    confidences: dict[str, float]


class StageTimings(BaseModel):
    tokenize_ms: float
    inference_ms: float
    aggregate_ms: float
    total_ms: float


class ModelInfo(BaseModel):
    name: str
    version: str
    precision: str | None
    max_length: int = Field(description="Chunk length limit (ids, [CLS]/[SEP] included).")
    overlap: int
    longest_chunk: int = Field(description="Ids in this narrative's longest chunk.")
    bucket: int = Field(description="Length every chunk was padded to for the model.")


class Coverage(BaseModel):
    tokens: int = Field(..., description="Tokens in the narrative.")
    tokens_classified: int = Field(..., description="Tokens covered by at least one chunk.")


class ClassifyResponse(BaseModel):
    request_id: str
    main_category: str
    sub_category: str
    sub_category_2: str | None
    intervention: str
    priority: str
    confidence_scores: dict[str, float]
    predictions: dict[str, HeadPrediction]
    escalation: Escalation
    needs_review: bool
    review_reasons: list[str]
    chunks_processed: int
    chunk_predictions: list[ChunkPrediction] | None
    coverage: Coverage
    processing_time: float = Field(..., description="Seconds, end to end in the gateway.")
    timings: StageTimings
    model_info: ModelInfo
    timestamp: str


class BatchResult(BaseModel):
    id: str | None
    result: ClassifyResponse


class BatchResponse(BaseModel):
    request_id: str
    count: int
    results: list[BatchResult]
    processing_time: float


class ErrorDetail(BaseModel):
    error_code: str
    message: str
    detail: str | None = None
    field: str | None = None
    timestamp: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
    status: Literal["error"] = "error"
    request_id: str


class ChunkingInfo(BaseModel):
    max_length: int
    overlap: int
    buckets: list[int]
    policy: Literal["balanced", "greedy"]
    max_chunks_per_request: int


class EndpointInfo(BaseModel):
    url: str
    protocol: str
    live: bool
    ready_versions: list[str]
    error: str | None


class OperatingPointInfo(BaseModel):
    target_recall: float
    threshold: float
    recall: float = Field(..., description="Most-severe recall reached on `split`.")
    false_alarm_rate: float = Field(..., description="Share of other cases flagged on `split`.")
    n_positive: int
    n_negative: int
    split: str


class CalibrationInfo(BaseModel):
    state: str = Field(
        ...,
        description="`calibrated (...)` or `not calibrated (...)` for a version without "
        "calibration.json (temperature 1, the severity file's threshold).",
    )
    temperatures: dict[str, float] | None
    operating_point: OperatingPointInfo | None
    threshold_source: Literal[
        "TRIAGE_ESCALATION_THRESHOLD", "calibration.json", "priority_severity.json", "none"
    ]


class InfoResponse(BaseModel):
    status: Literal["ready", "not_ready"]
    model_name: str
    model_version: str | None
    precision: str | None
    device: str
    max_length: int | None
    chunking: ChunkingInfo | None
    label_counts: dict[str, int] | None
    severity_order: list[str] | None
    escalation_threshold: float | None
    escalation: str = Field(
        ...,
        description="`enabled (...)` with the order and threshold, `disabled (no severity "
        "order)` when the served version ships none, or `unknown (...)` before a version loads.",
    )
    calibration: CalibrationInfo | None = None
    limits: dict[str, int]
    endpoints: list[EndpointInfo]


class ModelHealth(BaseModel):
    state: Literal["ready", "implementable", "blocked"]
    version: str | None
    detail: str | None
    escalation: str = Field(..., description="As in `/classifier/info`.")


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    models: dict[str, ModelHealth]
