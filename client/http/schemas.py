"""Request and response bodies of the API, REST and live-call streaming (WebSocket events and
messages too), in one place: the OpenAPI document is built from these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    field_validator,
    model_validator,
)

from client.core.tokenization import READABLE_PATTERN

# The OpenAPI document carries the service's rule for readable text (client/core/service.py),
# so that it says exactly which narratives are accepted (the length limit is added from the
# settings: `client.http.app.document_limits`).


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
    recall_interval_95: tuple[float, float] = Field(
        ...,
        description="95% Wilson interval of that recall over `n_positive` cases: the recall "
        "these rows are consistent with (46 cases at 0.957: 0.85-0.99).",
    )
    false_alarm_rate: float = Field(..., description="Share of other cases flagged on `split`.")
    n_positive: int
    n_negative: int
    split: str = Field(..., description="`validation` or the name of the fitting file.")
    rule: Literal["vote_or_threshold", "threshold"] = Field(
        "vote_or_threshold",
        description="`vote_or_threshold`: most severe when the vote says so or a chunk reaches "
        "the threshold; `threshold`: most severe iff a chunk reaches it (a voted case below it "
        "gets the most probable other level).",
    )


class CalibrationInfo(BaseModel):
    state: str = Field(
        ...,
        description="`calibrated (...)` or `not calibrated (...)` for a version without "
        "calibration.json (temperature 1, the severity file's threshold).",
    )
    temperatures: dict[str, float] | None
    operating_point: OperatingPointInfo | None
    fitted_on: dict[str, Any] | None = Field(
        None,
        description="What temperatures and operating point were fitted on: a file's name, "
        "sha256, row and most-severe counts, or the validation split.",
    )
    threshold_source: Literal[
        "TRIAGE_ESCALATION_THRESHOLD", "calibration.json", "priority_severity.json", "none"
    ]
    main_from_sub: float = Field(
        0.0,
        description="Weight w of the sub-category head in the main-category decision: main is "
        "proportional to p_main^(1-w) times the sub head's mass on that main's subs^w "
        "(0: the main head alone).",
    )


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


# The legacy service's words, kept for its clients: `implementable` means the model server is
# up and the model version is not loaded yet (it can be, it is not); `blocked`: it cannot be.
ModelState = Literal["ready", "implementable", "blocked"]
VERSION_NOT_LOADED_YET: ModelState = "implementable"


class ModelHealth(BaseModel):
    state: ModelState
    version: str | None
    detail: str | None
    escalation: str = Field(..., description="As in `/classifier/info`.")


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    models: dict[str, ModelHealth]


# --- live-call streaming (client.http.routers.streaming) -----------------------------------


class StreamStatsBody(BaseModel):
    segments: int
    chars: int
    tokens: int
    chunks_closed: int = Field(..., description="Chunk windows that can no longer change.")
    chunks_tail: int = Field(..., description="Open tail windows in the latest update.")
    chunks_inferred: int = Field(..., description="Windows this session sent to the model.")
    chunks_reused: int = Field(..., description="Final windows taken from the session cache.")
    inference_calls: int
    padded_tokens_inferred: int


class AlertEvent(BaseModel):
    type: Literal["alert"] = "alert"
    session_id: str
    request_id: str
    seq: int = Field(..., description="Segment that raised it; -1 when raised on close.")
    chunk_index: int
    chunk_closed: bool = Field(..., description="False: an interim window of the open tail.")
    token_start: int
    token_end: int
    char_start: int
    char_end: int
    level: str
    confidence: float
    threshold: float
    model_version: str
    timestamp: str


class UpdateEvent(BaseModel):
    type: Literal["update"] = "update"
    session_id: str
    seq: int
    result: ClassifyResponse
    stats: StreamStatsBody


class AckEvent(BaseModel):
    type: Literal["ack"] = "ack"
    session_id: str
    seq: int
    stats: StreamStatsBody


class FinalEvent(BaseModel):
    type: Literal["final"] = "final"
    session_id: str
    result: ClassifyResponse
    alert: AlertEvent | None = Field(None, description="The session's alert, if any.")
    stats: StreamStatsBody


class SessionEvent(BaseModel):
    type: Literal["session"] = "session"
    session_id: str
    request_id: str
    include_chunks: bool
    idle_timeout_s: float
    max_chars: int


class ErrorEvent(ErrorResponse):
    type: Literal["error"] = "error"
    http_status: int
    retry_after_s: int | None = None


class SessionCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_chunks: StrictBool = Field(False, description="Per-chunk predictions in results.")


def _whole_number(value: object) -> object:
    # JSON Schema's `integer` includes 3.0, so the API takes it too; 3.5, "3" and true are
    # still refused by the strict integer after this.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


SegmentSeq = Annotated[StrictInt, Field(ge=0), BeforeValidator(_whole_number)]


class SegmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(..., description="Appended verbatim to the transcript.")
    seq: SegmentSeq | None = Field(
        None, description="Number of segments sent before; a mismatch is refused (409)."
    )


class SegmentResponse(BaseModel):
    session_id: str
    seq: int
    update: UpdateEvent | None = Field(None, description="Null when no window changed.")
    alert: AlertEvent | None = Field(None, description="Set when this segment raised it.")
    stats: StreamStatsBody


class SessionStateResponse(BaseModel):
    session_id: str
    request_id: str
    include_chunks: bool
    closed: bool = Field(..., description="Closed: POST .../close returns its final result.")
    idle_s: float
    latest: UpdateEvent | None
    alert: AlertEvent | None
    stats: StreamStatsBody


class SegmentMessage(BaseModel):
    """WebSocket: a transcript segment."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["segment"]
    text: StrictStr
    seq: SegmentSeq | None = None


class CloseMessage(BaseModel):
    """WebSocket: end of the call; the server answers with `final`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["close"]


STREAM_MESSAGE = TypeAdapter(Annotated[SegmentMessage | CloseMessage, Field(discriminator="type")])
