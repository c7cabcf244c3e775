"""The reports' one Jinja environment (report.html and the fleet index)."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Autoescaped, strict about undefined names. Compiled templates are cached in jinja2's
    per-user folder under the temp dir (mode 0700, checked by jinja2): compiling them cost
    ~0.15 s of every run."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, bytecode_cache=jinja2.FileSystemBytecodeCache())
