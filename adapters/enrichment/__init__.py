"""Enrichment models that run offline on the CPU: one module per model, and the registry."""
