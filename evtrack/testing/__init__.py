"""Test helpers evtrack ships so that users can test their own setup too.

* :mod:`evtrack.testing.eutils_server` — a local E-utilities stand-in (NCBI's rate limit, the
  history server, faults on demand) that the real NCBI source is pointed at with
  ``EVTRACK_EUTILS_URL``.
* :mod:`evtrack.testing.generate` — deterministic, realistic PubMed records at any size.

Nothing here is imported by evtrack itself, and importing this package imports neither.
"""
