"""The whole stack on one machine (`make serve`): the embedded default model, Triton under a
supervisor, and the gateway."""
