"""Gateway in front of Triton: tokenization, chunking, batching and aggregation."""
