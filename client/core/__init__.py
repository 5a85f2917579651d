"""The classification core: tokenization, chunking, buckets, aggregation, the service that
runs one narrative through them, settings, errors and metrics. Knows nothing of HTTP."""
