"""Training (the ``train`` extra: torch, onnx, skl2onnx). Imports inference code, never the reverse."""
