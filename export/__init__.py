"""Export a multi-task checkpoint to ONNX and into the Triton model repository."""
