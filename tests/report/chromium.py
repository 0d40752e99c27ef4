"""Headless Chromium from the command line: what a report looks like in a real browser.

No driver and no Python package: `--dump-dom` prints the page after its load event, when a small
probe script appended to a copy of the page has written what it measured (images loaded, page
and table widths, overlapping images) into the DOM as JSON; `--screenshot` saves a PNG.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install_chromium.sh"

PROBE = """<script>
addEventListener("load", () => {
  const rect = e => e.getBoundingClientRect();
  const imgs = [...document.images];
  const overlaps = [];
  imgs.forEach((a, i) => imgs.slice(i + 1).forEach(b => {
    const r = rect(a), s = rect(b);
    if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1)
      overlaps.push([a.alt, b.alt]);
  }));
  const out = {
    images: imgs.map(i => ({alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth,
                            naturalHeight: i.naturalHeight, width: rect(i).width})),
    overlaps,
    viewport: innerWidth,
    pageWidth: document.documentElement.scrollWidth,
    pageHeight: document.documentElement.scrollHeight,
    cutTables: [...document.querySelectorAll(".scroll")].filter(d => d.scrollWidth > d.clientWidth + 1)
      .map(d => d.querySelector("tr").textContent.slice(0, 80)),
    h2: [...document.querySelectorAll("h2")].map(h => h.innerText),
  };
  const pre = document.createElement("pre");
  pre.id = "curate-probe";
  pre.textContent = JSON.stringify(out);
  document.body.append(pre);
});
</script>"""


def chromium() -> str | None:
    """The browser, installed by scripts/install_chromium.sh where it is missing (as root);
    None where it cannot be installed."""
    found = shutil.which("chromium")
    if found:
        return found
    if subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True).returncode != 0:
        return None
    return shutil.which("chromium")


def _run(browser: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless=new", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio"]
    if os.geteuid() == 0:  # Chromium refuses to run as root inside its sandbox
        flags.append("--no-sandbox")
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


def probe(browser: str, page: Path, work: Path, width: int = 1280) -> dict:
    """What the page measures in the browser after loading, at `width` CSS pixels."""
    copy = work / f"probed-{page.name}"
    copy.write_text(page.read_text().replace("</html>", "") + PROBE)
    dom = _run(browser, f"--window-size={width},1000", "--virtual-time-budget=10000", "--dump-dom",
               copy.as_uri()).stdout
    found = re.search(r'<pre id="curate-probe">(.*?)</pre>', dom, re.S)
    assert found, f"the probe did not run; the page printed: {dom[-500:]}"
    return json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def screenshot(browser: str, page: Path, png: Path, width: int, height: int) -> Path:
    _run(browser, f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri())
    return png
