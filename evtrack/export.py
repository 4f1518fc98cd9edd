"""CSV export through pandas: the claims summary and one row per claim–paper link."""

from __future__ import annotations

from pathlib import Path

from evtrack.render import claims_frame, links_frame
from evtrack.report import Report


def export_csv(report: Report, out_dir: Path) -> list[tuple[Path, int]]:
    """Write ``claims.csv`` and ``links.csv`` into ``out_dir``; returns (path, rows) pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("claims.csv", claims_frame(report)), ("links.csv", links_frame(report))):
        path = out_dir / name
        frame.to_csv(path, index=False)
        written.append((path, len(frame)))
    return written
