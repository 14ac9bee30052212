"""Benchmarks that show the content tree's O(1) snapshot operations (run, read, no asserts)."""
