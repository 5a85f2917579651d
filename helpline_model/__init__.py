"""What every floor needs to know about a helpline model: its file layout, heads and labels,
the demo taxonomy, the severity order, and the PyTorch module that reads a checkpoint."""
