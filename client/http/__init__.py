"""The HTTP layer over the classification core.

app.py (the factory) wires the service into `app.state` and mounts routers/ (one module per
API: classify, info, streaming), with middleware.py, auth.py, request_ids.py and errors.py,
which REST and WebSocket share. schemas.py holds every request and response body;
responses.py turns core results into them. openapi.py writes the committed document; serve.py
runs the server.
"""
