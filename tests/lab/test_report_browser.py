"""report.html and index.html as a browser shows them: Debian's headless Chromium, on lab runs.

A failing run (cron.missing_container), a run of a profile whose db.env sits in a folder
named like markup, then the fixed run; each page is loaded in Chromium and checked through
the DOM Chromium built (`--dump-dom`), its width measured at 360 px, and screenshotted at
phone (390x844) and desktop (1280x900) sizes into reports/screenshots/ (paths printed).
docs/report.png and docs/index.png are refreshed when missing or with WA_UPDATE_DOCS=1.

Chromium comes from lab/install.sh (Debian's `chromium`); without it this test fails, it is
not skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from wa_compliance.reports.fleet import write_fleet_index

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "reports" / "screenshots"
DOCS = REPO / "docs"
CHROMIUM = "/usr/bin/chromium"
DESKTOP, PHONE, NARROW = (1280, 900), (390, 844), 360
MARKUP = "<script>alert('x')<!--"          # a folder name: it ends up in results' subjects
HOSTILE_HOST = "lab-markup"


# -- the DOM Chromium built -------------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list["Node | str"] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    def all(self, tag: str | None = None, cls: str | None = None, id: str | None = None) -> list["Node"]:
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if ((tag is None or child.tag == tag) and (id is None or child.attrs.get("id") == id)
                    and (cls is None or cls in (child.attrs.get("class") or "").split())):
                found.append(child)
            found += child.all(tag, cls, id)
        return found

    def one(self, tag: str | None = None, cls: str | None = None, id: str | None = None) -> "Node":
        found = self.all(tag, cls, id)
        assert len(found) == 1, f"expected one {tag or ''}.{cls or ''}#{id or ''}, found {len(found)}"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html_text: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html_text)
    return builder.root


# -- Chromium ---------------------------------------------------------------------------
@dataclass
class Chromium:
    executable: str
    profile_dir: Path

    def run(self, url: str, *options: str) -> str:
        command = [self.executable, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                   "--no-first-run", "--mute-audio", f"--user-data-dir={self.profile_dir}", *options, url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}"
        return done.stdout

    def dom(self, page: Path) -> Node:
        return parse(self.run(page.resolve().as_uri(), "--dump-dom"))

    def screenshot(self, page: Path, size: tuple[int, int], out: Path) -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        self.run(page.resolve().as_uri(), f"--window-size={size[0]},{size[1]}", f"--screenshot={out}")
        assert out.is_file() and out.stat().st_size > 1000, f"no screenshot written to {out}"
        return out

    def widths(self, page: Path, width: int, probe_dir: Path) -> dict[str, int]:
        """The page's own scroll width and viewport width when shown `width` px wide: the
        page is framed by a probe page whose script measures it (the reports have none)."""
        probe = probe_dir / f"probe-{time.monotonic_ns()}.html"
        probe.write_text(f"""<!DOCTYPE html><html><body style="margin:0">
<iframe id="page" src="{page.resolve().as_uri()}" style="width:{width}px;height:800px;border:0"></iframe>
<pre id="out">not measured</pre>
<script>
window.addEventListener("load", function () {{
  var out = document.getElementById("out");
  try {{
    var root = document.getElementById("page").contentDocument.documentElement;
    out.textContent = JSON.stringify({{scroll: root.scrollWidth, client: root.clientWidth}});
  }} catch (e) {{ out.textContent = "error: " + e; }}
}});
</script></body></html>""", encoding="utf-8")
        dom = parse(self.run(probe.as_uri(), "--allow-file-access-from-files",
                             "--virtual-time-budget=5000", "--dump-dom"))
        text = dom.one(id="out").text()
        assert text.startswith("{"), f"could not measure {page}: {text}"
        return json.loads(text)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory) -> Chromium:
    executable = shutil.which("chromium") or CHROMIUM
    if not os.access(executable, os.X_OK):
        pytest.fail(f"headless Chromium not found ({CHROMIUM}): lab/install.sh installs Debian's "
                    "`chromium` package (scripts/setup runs it), or: apt-get install -y chromium")
    return Chromium(executable, tmp_path_factory.mktemp("chromium-profile"))


# -- the runs ---------------------------------------------------------------------------
def run_folder(reports_dir: Path, host: str) -> Path:
    return (reports_dir / host / "latest").resolve()


def failing_pairs(run_dir: Path) -> set[tuple[str, str]]:
    document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return {(r["id"], r["subject"]) for r in document["results"] if r["outcome"] in ("fail", "error")}


def table_pairs(table: Node) -> set[tuple[str, str]]:
    pairs = set()
    for row in table.one("tbody").all("tr"):
        cells = {td.attrs["data-label"]: td.words() for td in row.all("td")}
        pairs.add((cells["ID"], cells["subject"]))
    return pairs


def assert_no_markup_injected(dom: Node, where: str) -> None:
    assert dom.all("script") == [], f"{where}: a <script> element"
    assert dom.all("iframe") == [] and dom.all("img") == [], where


def assert_fits(chromium: Chromium, page: Path, probe_dir: Path) -> None:
    measured = chromium.widths(page, NARROW, probe_dir)
    assert measured["scroll"] <= measured["client"], \
        f"{page} scrolls sideways at {NARROW} px: {measured}"


def test_reports_and_fleet_index_in_a_browser(lab_biz, audit, chromium, tmp_path):
    reports_dir = tmp_path / "reports"
    shots = SCREENSHOTS

    # 1. a failing run, 2. a host whose results' subjects hold markup, 3. the fixed run
    with lab_biz.deviation("cron.missing_container"):
        failing = audit("--host=lab", "-m", "cron", reports_dir=reports_dir)
    assert failing.exit_code == 1, failing.console
    first = run_folder(reports_dir, "lab")
    broken = failing_pairs(first)
    assert any(check == "CRON-002" for check, _ in broken), broken

    markup_dir = tmp_path / MARKUP
    markup_dir.mkdir()
    shutil.copy2(lab_biz.profile()["deployment"]["db_env"], markup_dir / "db.env")
    profile = lab_biz.write_profile(tmp_path / f"{HOSTILE_HOST}.yaml", name=HOSTILE_HOST,
                                    deployment={"db_env": str(markup_dir / "db.env")})
    markup_run = audit(f"--host={profile}", "-m", "env", reports_dir=reports_dir)
    assert markup_run.exit_code in (0, 1), markup_run.console
    markup_report = run_folder(reports_dir, HOSTILE_HOST) / "report.html"
    assert MARKUP in (markup_report.parent / "results.json").read_text(encoding="utf-8")

    fixed = audit("--host=lab", "-m", "cron", reports_dir=reports_dir)
    assert fixed.exit_code == 0, fixed.console
    second = run_folder(reports_dir, "lab")
    assert second != first
    # what the plugin calls at the end of a run; calling it again for the same run is a no-op
    index = write_fleet_index(reports_dir, {"lab": second})

    # the failing run's report
    page = chromium.dom(first / "report.html")
    assert_no_markup_injected(page, "first report")
    assert "FAIL" in page.one("h1").words()
    articles = page.one("section", id="failures").all("article")
    assert len(articles) == len(broken) > 0
    assert "first run for this host" in page.one("section", id="changes").words()

    # the fixed run's report: "changes since the previous run" lists exactly what was fixed
    page = chromium.dom(second / "report.html")
    assert_no_markup_injected(page, "second report")
    assert "PASS" in page.one("h1").words()
    changes = page.one("section", id="changes")
    assert table_pairs(changes.one("table", cls="changes-fixed")) == broken
    assert changes.all("table", cls="changes-new") == [] and changes.all("table", cls="changes-still") == []
    assert changes.one("h3", id="changes-new").words() == "New failures (0)"
    assert changes.one("h3", id="changes-still").words() == "Still failing (0)"
    previous = changes.one("a", cls="previous-report").attrs["href"]
    assert (second / unquote(previous)).resolve() == (first / "report.html").resolve()

    # markup in a subject is text, not markup
    page = chromium.dom(markup_report)
    assert_no_markup_injected(page, "markup host's report")
    subjects = [code.text() for code in page.one("section", id="results").all("code")]
    assert any(MARKUP in subject for subject in subjects), subjects[:5]

    # the fleet index: one row per host, each with a working relative link
    page = chromium.dom(index)
    assert_no_markup_injected(page, "index")
    rows = {row.all("td")[0].words(): row for row in page.all("tr", cls="host")}
    assert sorted(rows) == ["lab", HOSTILE_HOST]
    assert "stale" not in rows["lab"].attrs["class"] and "stale" in rows[HOSTILE_HOST].attrs["class"]
    assert "PASS" in rows["lab"].words()
    for host, row in rows.items():
        href = row.one("a", cls="report").attrs["href"]
        assert not urlsplit(href).scheme and not href.startswith("/"), href
        target = (index.parent / unquote(href)).resolve()
        assert target == (run_folder(reports_dir, host) / "report.html").resolve(), (host, href)
        linked = chromium.dom(target)
        assert host in linked.one("h1").words()

    # a phone never scrolls the page sideways; long tokens wrap
    for shown in (first / "report.html", second / "report.html", markup_report, index):
        assert_fits(chromium, shown, tmp_path)

    # screenshots, as test artifacts and for the README
    taken = {}
    for name, shown in (("report-failing", first / "report.html"), ("report-fixed", second / "report.html"),
                        ("report-markup", markup_report), ("index", index)):
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            taken[f"{name}-{label}"] = chromium.screenshot(shown, size, shots / f"{name}-{label}.png")
    for path in taken.values():
        print(f"screenshot: {path}")
    if os.environ.get("WA_UPDATE_DOCS") == "1" or not (DOCS / "report.png").exists() \
            or not (DOCS / "index.png").exists():
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(taken["report-failing-desktop"], DOCS / "report.png")
        shutil.copyfile(taken["index-desktop"], DOCS / "index.png")
        print(f"screenshot: {DOCS / 'report.png'}\nscreenshot: {DOCS / 'index.png'}")


def test_the_traffic_picture_in_a_browser(lab_biz, audit, chromium, tmp_path):
    """A deployment busy by day (14 days in a real Prometheus): report.html draws its 24 hours,
    the off-peak window, the cleanup job and the GC calls, with no script and no fetch."""
    from lab.prometheus import BUSY_BY_DAY, LabPrometheus
    server = LabPrometheus(lab_biz.prometheus_dir)
    try:
        server.load(BUSY_BY_DAY)
        profile = lab_biz.write_profile(tmp_path / "lab-traffic.yaml", name="lab-traffic",
                                        traffic={"prometheus": {"url": server.url}})
        run = audit(f"--host={profile}", "-m", "gc or cron", reports_dir=tmp_path / "reports")
    finally:
        server.remove()
    assert run.exit_code == 0, run.console
    report = run_folder(tmp_path / "reports", "lab-traffic") / "report.html"
    page = chromium.dom(report)
    assert_no_markup_injected(page, "traffic report")
    section = page.one("section", id="traffic")
    svg = section.one("svg")
    assert len(svg.all("rect")) == 24 + 1                   # 24 hours and the window 00:00-06:00
    assert [t.text() for t in svg.all("title") if t.text().startswith(("cleanup", "GC call"))] == \
        ["cleanup at 03:30", "GC call at 02:57"]
    assert "00:00-06:00" in section.words() and "120 rps" in svg.words()
    assert_fits(chromium, report, tmp_path)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        print(f"screenshot: {chromium.screenshot(report, size, SCREENSHOTS / f'report-traffic-{label}.png')}")
