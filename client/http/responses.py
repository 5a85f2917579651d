"""Core results -> API response bodies (keeps today's fields, adds the new ones)."""

from __future__ import annotations

import dataclasses

from client.core.pipeline import Classification
from client.core.service import ClassifierService
from client.core.timestamps import now_iso
from client.http import schemas
from helpline_model.calibration import THRESHOLD, Calibration
from helpline_model.severity import DISABLED


def answer_body(c: Classification, include_chunks: bool) -> schemas.ClassifyResponse:
    """The response for `c`, from the result alone: it carries the plan and precision of the
    version that answered (a fallback version during a partial rollout, not necessarily the
    one followed)."""
    result = c.result
    heads = result.heads
    longest = max(ch.length for ch in c.chunks)
    predictions = {
        head: schemas.HeadPrediction(
            label=h.label,
            confidence=h.confidence,
            band=h.band,  # type: ignore[arg-type]
            top_k=[schemas.LabelScore(label=s.label, probability=s.probability) for s in h.top_k],
        )
        for head, h in heads.items()
    }
    sub2 = result.sub_category_2
    confidence_scores = {
        "main_category": heads["main"].confidence,
        "sub_category": heads["sub"].confidence,
        "intervention": heads["intervention"].confidence,
        "priority": heads["priority"].confidence,
    }
    if sub2 is not None:
        confidence_scores["sub_category_2"] = sub2.probability
    esc = result.escalation
    chunk_predictions = None
    if include_chunks:
        chunk_predictions = [
            schemas.ChunkPrediction(
                index=chunk.index,
                token_count=chunk.token_count,
                token_start=chunk.token_start,
                token_end=chunk.token_end,
                char_start=chunk.char_start,
                char_end=chunk.char_end,
                labels=pred.labels,
                confidences=pred.confidences,
            )
            for chunk, pred in zip(c.chunks, result.chunk_predictions, strict=True)
        ]
    covered = set()
    for chunk in c.chunks:
        covered.update(range(chunk.token_start, chunk.token_end))
    return schemas.ClassifyResponse(
        request_id=c.request_id,
        main_category=heads["main"].label,
        sub_category=heads["sub"].label,
        sub_category_2=sub2.label if sub2 is not None else None,
        intervention=heads["intervention"].label,
        priority=heads["priority"].label,
        confidence_scores=confidence_scores,
        predictions=predictions,
        escalation=schemas.Escalation(
            enabled=esc.enabled,
            escalated=esc.escalated,
            level=esc.level,
            voted_priority=esc.voted_level,
            threshold=esc.threshold,
            chunk_index=esc.chunk_index,
            chunk_confidence=esc.chunk_confidence,
            reason=esc.reason,
        ),
        needs_review=result.needs_review,
        review_reasons=[
            f"{head}: {heads[head].band} confidence" for head in result.review_triggers
        ],
        chunks_processed=len(c.chunks),
        chunk_predictions=chunk_predictions,
        coverage=schemas.Coverage(tokens=c.n_tokens, tokens_classified=len(covered)),
        processing_time=c.timings.total_ms / 1000,
        timings=schemas.StageTimings(
            tokenize_ms=c.timings.tokenize_ms,
            inference_ms=c.timings.inference_ms,
            aggregate_ms=c.timings.aggregate_ms,
            total_ms=c.timings.total_ms,
        ),
        model_info=schemas.ModelInfo(
            name=c.model_name,
            version=c.model_version,
            precision=c.precision,
            max_length=c.plan.max_length,
            overlap=c.plan.overlap,
            longest_chunk=longest,
            bucket=c.bucket,
        ),
        timestamp=now_iso(),
    )


def escalation_state(service: ClassifierService) -> str:
    """One line an operator cannot misread: whether cases of the served version escalate."""
    bundle = service.bundle
    if bundle is None:
        return "unknown (no model version loaded)"
    severity = service.effective_severity(bundle)
    if severity is None:
        return DISABLED
    order = " < ".join(severity.least_to_most_severe)
    point = bundle.calibration.escalation if bundle.calibration else None
    chosen = ""
    if point is not None and service.settings.escalation_threshold >= 0:
        chosen = f"; TRIAGE_ESCALATION_THRESHOLD overrides the calibrated {point.threshold:.4g}"
    elif point is not None:
        chosen = f"; {point.describe()}"
    level, threshold = severity.most_severe, severity.escalation_threshold
    if severity.rule == THRESHOLD:
        rule = (
            f"rule {THRESHOLD}: {level!r} iff a chunk predicts it with probability >= "
            f"{threshold:g}; a case the vote calls {level!r} below it gets the most probable "
            "other level"
        )
    else:
        # Today's words for today's rule (versions without a rule read as before); a
        # calibrated point's description names the rule.
        rule = f"a chunk predicting {level!r} with probability >= {threshold:g} escalates"
    return f"enabled (least to most severe: {order}; {rule}{chosen})"


def fitted_on_words(calibration: Calibration) -> str:
    """Where the version's temperatures were fitted, for the one-line state."""
    fitted = calibration.fitted_on or {}
    if "file" in fitted:
        return f"{fitted['file']} ({fitted.get('n', '?')} rows)"
    return str(fitted.get("split", "validation"))


def calibration_info(service: ClassifierService) -> schemas.CalibrationInfo | None:
    bundle = service.bundle
    if bundle is None:
        return None
    calibration = bundle.calibration
    point = calibration.escalation if calibration else None
    if bundle.severity is None:
        source = "none"
    elif service.settings.escalation_threshold >= 0:
        source = "TRIAGE_ESCALATION_THRESHOLD"
    else:
        source = "calibration.json" if point else "priority_severity.json"
    if calibration is None:
        state = "not calibrated (no calibration.json: temperature 1, the severity file's threshold)"
    else:
        state = f"calibrated (temperatures fitted on {fitted_on_words(calibration)}" + (
            f"; {point.describe()})" if point else "; no operating point)"
        )
    return schemas.CalibrationInfo(
        state=state,
        temperatures=dict(calibration.temperatures) if calibration else None,
        operating_point=(
            schemas.OperatingPointInfo(
                **dataclasses.asdict(point), recall_interval_95=point.recall_interval
            )
            if point
            else None
        ),
        threshold_source=source,  # type: ignore[arg-type]
        fitted_on=calibration.fitted_on if calibration else None,
        main_from_sub=calibration.main_from_sub if calibration else 0.0,
    )


def info_body(service: ClassifierService) -> schemas.InfoResponse:
    settings = service.settings
    bundle, plan = service.bundle, service.plan
    precision = bundle.metadata.get("precision") if bundle else None
    severity = bundle.severity if bundle else None
    endpoints = [
        schemas.EndpointInfo(
            url=state.url,
            protocol=state.protocol,
            live=state.live,
            ready_versions=state.ready_versions,
            error=state.error,
        )
        for state in service.runner.endpoint_states()
    ]
    return schemas.InfoResponse(
        status="ready" if service.is_ready() else "not_ready",
        model_name=settings.model_name,
        model_version=bundle.version if bundle else None,
        precision=precision,
        device="gpu" if precision == "fp16" else "cpu",
        max_length=bundle.max_length if bundle else None,
        chunking=schemas.ChunkingInfo(
            max_length=plan.max_length,
            overlap=plan.overlap,
            buckets=list(plan.buckets),
            policy="balanced" if plan.balanced else "greedy",
            max_chunks_per_request=settings.max_chunks_per_request,
        )
        if plan
        else None,
        label_counts=bundle.labels.sizes() if bundle else None,
        severity_order=list(severity.least_to_most_severe) if severity else None,
        escalation_threshold=(
            service.effective_severity(bundle).escalation_threshold if bundle and severity else None
        ),
        escalation=escalation_state(service),
        calibration=calibration_info(service),
        limits={
            "max_body_bytes": settings.max_body_bytes,
            "max_narrative_chars": settings.max_narrative_chars,
            "max_batch_items": settings.max_batch_items,
        },
        endpoints=endpoints,
    )


def health_body(service: ClassifierService) -> schemas.HealthResponse:
    bundle, endpoint = service.bundle, service.endpoint
    if service.is_ready():
        state, detail = "ready", None
    elif endpoint is None or not endpoint.live:
        # Not `endpoint.error`: it names replica addresses (`/classifier/info` lists them).
        state, detail = "blocked", "model server unreachable"
    elif service.bundle_error:
        state, detail = "blocked", service.bundle_error
    else:
        state = "implementable"
        detail = "model server up; model version not ready yet"
    health = schemas.ModelHealth(
        state=state,  # type: ignore[arg-type]
        version=bundle.version if bundle else None,
        detail=detail,
        escalation=escalation_state(service),
    )
    return schemas.HealthResponse(
        status="ok" if state == "ready" else "degraded",
        models={service.settings.model_name: health},
    )
