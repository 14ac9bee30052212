"""Benchmarks and long runs, each a module run from the repository root as
``python -m bench.<name>`` (``--help`` lists its options). They print tables and never
assert on a time.

What they share: ``backends`` (the stores they run on), ``seeding`` (users, synthetic
records, published datasets), ``image_files`` (folders of many small distinct PNGs, for
ingesting through the real task), ``timing``, ``options``, ``reports`` (progress, table
cells, figures for the scorecard) and ``deployment`` (snapset processes). ``scale`` runs
every operation at each size, its steps in ``scale_steps`` and its tables in
``scale_report``.
"""
