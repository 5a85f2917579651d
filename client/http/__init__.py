"""The HTTP layer: the FastAPI app, request and response schemas, live-call routes, the
OpenAPI document and the server entry point."""
