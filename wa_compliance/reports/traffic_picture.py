"""The 24-hour traffic picture of report.html, as plain geometry the template lays out in SVG:
mean and peak requests/s per hour of the day, the off-peak window shaded, the cleanup jobs' and
the GC calls' times marked, and the API-GC threshold. Numbers only: nothing here is markup."""

from __future__ import annotations

from typing import Any

from ..model import Result

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 36
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def traffic_picture(results: list[Result]) -> dict[str, Any] | None:
    """The picture of the first result carrying a `traffic_profile` (GC-004), else None."""
    profile = next((r.evidence["traffic_profile"] for r in results
                    if isinstance(r.evidence, dict) and isinstance(r.evidence.get("traffic_profile"), dict)), None)
    if profile is None:
        return None
    means, peaks = profile["hourly_mean"], profile["hourly_peak"]
    top = max([*peaks, profile["threshold"], 1]) * 1.1
    hour_w = PLOT_W / 24

    def x(hours: float) -> float:
        return round(LEFT + hours * hour_w, 1)

    def y(rps: float) -> float:
        return round(TOP + PLOT_H * (1 - rps / top), 1)

    def at(text: str) -> float:
        hour, minute = text.split(":")
        return int(hour) + int(minute) / 60

    start, end = (at(part) if part != "24:00" else 24 for part in profile["off_peak"].split("-"))
    spans = [(start, end)] if start < end else [(start, 24), (0, end)]
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "top": TOP, "bottom": TOP + PLOT_H, "right": LEFT + PLOT_W,
        "window": [{"x": x(a), "w": round(x(b) - x(a), 1)} for a, b in spans if b > a],
        "bars": [{"x": x(h) + 3, "w": round(hour_w - 6, 1), "y": y(m), "h": round(y(0) - y(m), 1),
                  "peak_y": y(p), "hour": h, "mean": m, "peak": p} for h, (m, p) in enumerate(zip(means, peaks))],
        "threshold": {"y": y(profile["threshold"]), "rps": profile["threshold"]},
        "ticks": [{"x": x(h), "label": f"{h:02d}"} for h in range(0, 25, 3)],
        "levels": [{"y": y(v), "label": f"{v:g}"} for v in _levels(top)],
        "cleanup": [{"x": x(at(t)), "label": t} for t in profile.get("cleanup_at", [])],
        "gc": [{"x": x(at(t)), "label": t} for t in profile.get("gc_calls_at", [])],
        "off_peak": profile["off_peak"], "off_peak_source": profile.get("off_peak_source", ""),
        "peak": profile.get("peak"), "source": profile.get("source", ""),
    }


def _levels(top: float) -> list[float]:
    """Round values (1, 2 or 5 × 10^k apart, at most 5) under the top of the scale."""
    steps = (m * 10 ** k for k in range(-2, 8) for m in (1, 2, 5))
    step = next(step for step in steps if top / step <= 4)
    return [step * i for i in range(0, int(top / step) + 1)]
