"""OpenTelemetry's own Python SDK and OTLP/HTTP exporter (opentelemetry-sdk,
opentelemetry-exporter-otlp-proto-http, from PyPI) pointed at `insights run`: GenAI spans become
conversations counted by value, a re-export counts once (docs/ingest.md, *OpenTelemetry*)."""
from __future__ import annotations

import time

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from service import Run, wait_until

AGENT = "otel-bot"


@pytest.fixture
def deployment(redis_server, insights_run):
    return redis_server, insights_run()


class Keep(SpanExporter):
    """Keeps the finished spans, so that the test exports the same spans twice (as a retry does)."""

    def __init__(self):
        self.spans = []

    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


def conversation(tracer, t0: int):
    """One conversation (times in ns from t0): the agent's root span carries gen_ai.conversation.id;
    two chat calls (1.5 s with 200/40 tokens, 0.5 s with 300/60), a tool call that fails with
    error.type rate_limited; and a trace without a conversation id (rejected)."""
    ms = 1_000_000
    root = tracer.start_span("invoke_agent support", start_time=t0,
                             attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "otel-c1",
                                         "gen_ai.agent.name": AGENT})
    ctx = set_span_in_context(root)
    chat = tracer.start_span("chat gpt-4o", context=ctx, start_time=t0 + 100 * ms,
                             attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                                         "gen_ai.usage.input_tokens": 200, "gen_ai.usage.output_tokens": 40})
    chat.end(end_time=t0 + 1600 * ms)
    tool = tracer.start_span("execute_tool crm", context=ctx, start_time=t0 + 1700 * ms,
                             attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "crm_lookup",
                                         "error.type": "rate_limited"})
    tool.set_status(Status(StatusCode.ERROR, "429 from the CRM"))
    tool.end(end_time=t0 + 1950 * ms)
    chat2 = tracer.start_span("chat gpt-4o", context=ctx, start_time=t0 + 2000 * ms,
                              attributes={"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 300,
                                          "gen_ai.usage.output_tokens": 60})
    chat2.end(end_time=t0 + 2500 * ms)
    root.end(end_time=t0 + 3000 * ms)
    orphan = tracer.start_span("chat orphan", start_time=t0, attributes={"gen_ai.operation.name": "chat"})
    orphan.end(end_time=t0 + 10 * ms)


def test_otel_sdk_spans_are_counted_once(deployment):
    r, run = deployment
    keep = Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "unused-service"}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("e2e")
    t0 = (int(time.time()) - 1800) * 1_000_000_000
    conversation(tracer, t0)
    assert len(keep.spans) == 5
    # The SDK's exporter, gzip as deployments set it; then the same spans again in one more export.
    exporter = OTLPSpanExporter(endpoint=f"{run.base}/v1/traces", compression=Compression.Gzip, timeout=10)
    assert exporter.export(keep.spans[:4]) == SpanExportResult.SUCCESS  # the conversation's spans, root included
    assert exporter.export(keep.spans) == SpanExportResult.SUCCESS
    exporter.shutdown()

    m = run.get_json(f"/api/v1/analytics/conversations/metrics?agent_id={AGENT}")
    # 2 chats × (user_message + bot_response) + api_call + error = 6 events; 4 messages; 1 conversation;
    # mean response time (1500 + 500) / 2 = 1000 ms; tokens 500 in, 100 out.
    assert (m["total_conversations"], m["total_messages"], m["total_events"], m["avg_response_time_ms"]) == (1, 4, 6, 1000)
    assert (m["total_input_tokens"], m["total_output_tokens"]) == (500, 100)
    # The journey: each event once, in time order.
    wait_until(lambda: run.get("/api/v1/analytics/users/journey/otel-c1")[0] == 200, 15, "the journey of otel-c1")
    j = run.get_json(f"/api/v1/analytics/users/journey/otel-c1?agent_id={AGENT}")["journey"]
    assert [e["type"] for e in j] == ["user_message", "bot_response", "api_call", "error", "user_message", "bot_response"]
    assert j[1]["response_time_ms"] == 1500 and j[1]["data"]["model"] == "gpt-4o" and j[1]["data"]["input_tokens"] == 200
    assert j[2]["data"] == {"endpoint": "crm_lookup", "success": False}
    assert j[3]["data"]["code"] == "rate_limited" and j[3]["data"]["message"] == "429 from the CRM"
    span_id = format(keep.spans[0].context.span_id, "016x")
    trace_id = format(keep.spans[0].context.trace_id, "032x")
    assert j[0]["event_id"] == f"otel:{trace_id}:{span_id}:u"
    s = run.get_json(f"/api/v1/analytics/system/metrics?agent_id={AGENT}")
    assert (s["api_calls"], s["api_failures"], s["errors"], s["error_codes"]) == (1, 1, 1, {"rate_limited": 1})
    assert s["endpoints"]["crm_lookup"]["failures"] == 1
    assert r.client().xlen(f"ins:{{{AGENT}}}:stream") <= 6


def test_partial_success_and_refusals_over_http(deployment):
    """The OTLP answer as the exporter reads it: partial_success counts the rejected span; a body
    that is not protobuf is a 400 carrying a google.rpc.Status."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    import urllib.request
    from urllib.error import HTTPError

    _, run = deployment
    keep = Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": AGENT}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    conversation(provider.get_tracer("e2e"), (int(time.time()) - 600) * 1_000_000_000)
    body = encode_spans(keep.spans).SerializeToString()
    req = urllib.request.Request(f"{run.base}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = ExportTraceServiceResponse.FromString(resp.read())
    assert answer.partial_success.rejected_spans == 1
    assert "no gen_ai.conversation.id" in answer.partial_success.error_message
    from google.rpc.status_pb2 import Status as RpcStatus  # shipped with googleapis-common-protos, the exporter's dependency
    bad = urllib.request.Request(f"{run.base}/v1/traces", data=b"\xff\xff", headers={"Content-Type": "application/x-protobuf"})
    with pytest.raises(HTTPError) as e:
        urllib.request.urlopen(bad, timeout=10)
    assert e.value.code == 400
    st = RpcStatus.FromString(e.value.read())
    assert st.code == 3 and st.message.startswith("malformed protobuf")
