"""Outputs beyond the per-host reports (README: command line): --metrics-file, --plan and --baseline.

- `metrics`: Prometheus text for node_exporter's textfile collector, written atomically.
- `plan`: a Markdown remediation plan built from the failing results' remediation texts.
- `baseline`: an earlier results.json whose failures no longer fail the run.

Only the controller writes files (under pytest-xdist the workers run checks and send results).
"""

from __future__ import annotations

from .baseline import Baseline, BaselineError, is_marked
from .metrics import render_metrics, write_metrics
from .plan import render_plan, write_plan

__all__ = ["Baseline", "BaselineError", "is_marked", "render_metrics", "write_metrics",
           "render_plan", "write_plan"]
