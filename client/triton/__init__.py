"""Triton as the thing that runs the model: one runner per endpoint, a pool of replicas."""
