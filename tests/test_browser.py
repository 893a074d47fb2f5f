"""Every notebook, as a user meets it: JupyterLab in headless Chromium, outputs cleared, all cells run.

JupyterLab (this environment's, the "cinb" kernel) listens on 127.0.0.1 with a token; its config,
runtime, settings and workspace folders are temporary and it serves copies of the notebooks (so that
autosave never touches the repository); its own process is stopped at the end. Chromium is Debian's
(``scripts/apt-packages.txt``), driven by Playwright for Python.

Per notebook: no error output; every widget view renders as a live control (``.jupyter-widgets``,
never "Error displaying widget"); every picture loads; each explorer answers one interaction by
redrawing its preview; the WatermarkTuner preview keeps the image's aspect ratio.

Runs with the rest of ``bash scripts/test.sh``; skip it only explicitly: ``-m "not browser"``.
A missing Chromium or Playwright is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RUN_TIMEOUT_S = 300  # one notebook's "run all"; the slowest takes about 50 s on 2 busy cores
NOTEBOOK_TIMEOUT_MS = 120_000  # any other wait (page, widget, preview)

#: Notebooks that show only text and tables.
WITHOUT_PICTURES = {"10-collections.ipynb", "30-format-and-quality.ipynb"}

#: The explorer each notebook ends with (its CSS class); ``_interact`` drives it.
EXPLORERS = {
    "01-basic-processing.ipynb": "cinb-rule-explorer",
    "20-watermarks.ipynb": "cinb-watermark-tuner",
    "31-compression.ipynb": "cinb-compression-tuner",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """JupyterLab user settings: no autosave, no news or update checks (no network, no pop-ups)."""
    for plugin, values in {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving copies of the notebooks; yields its base URL and token."""
    import jupyterlab  # noqa: F401  (a missing JupyterLab fails here, loudly)

    tmp = tmp_path_factory.mktemp("lab")
    work = tmp / "root"
    (work / "notebooks").mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, work / "notebooks" / name)
    for folder in ("datasets", "benchmarks"):  # the notebooks read ../datasets and ../benchmarks
        (work / folder).symlink_to(ROOT / folder)
    _settings(tmp / "settings")
    token, port = secrets.token_hex(16), _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               MPLBACKEND="module://matplotlib_inline.backend_inline", PYTHONHASHSEED="0")
    env.pop("JUPYTER_TOKEN", None)
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={work / 'notebooks'}", "--ServerApp.allow_root=True",
         "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start:\n{(tmp / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield {"base": base, "token": token, "log": tmp / "lab.log", "root": work / "notebooks"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright  # a missing Playwright fails here, loudly

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"no Chromium at {CHROMIUM}: bash scripts/setup.sh installs Debian's `chromium`")
    args = ["--disable-gpu", "--disable-dev-shm-usage"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(lab, browser):
    """One JupyterLab tab for all notebooks (loading JupyterLab takes seconds; opening a notebook does not)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(NOTEBOOK_TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(f"{lab['base']}/lab?token={lab['token']}&reset", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined", timeout=60_000)
    page.evaluate("() => window.jupyterapp.started")
    try:
        yield page
    finally:
        page.close()


# JavaScript run in the page (JupyterLab exposes its app as window.jupyterapp with expose_app_in_browser).
_OPEN = """async (name) => {
  const app = window.jupyterapp;
  const panel = await app.commands.execute('docmanager:open', {path: name, factory: 'Notebook'});
  app.shell.activateById(panel.id);
  await panel.context.ready;
  await panel.sessionContext.ready;
  return panel.context.path;
}"""

_CLOSE = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext) return;
  await panel.sessionContext.shutdown();  // one kernel at a time: the next notebook gets the memory
  panel.context.model.dirty = false;      // no "save changes?" dialog: the run is thrown away
  panel.dispose();
}"""

_RUN_ALL = """async (ms) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session?.kernel?.name;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  const run = app.commands.execute('notebook:run-all-cells');
  const ok = await Promise.race([run, new Promise(r => setTimeout(() => r('timeout'), ms))]);
  if (ok === 'timeout') {  // a hung cell must fail this notebook, not stall the suite
    const cell = panel.content.widgets.findIndex(c => c.model.type === 'code'
        && (c.node.querySelector('.jp-InputPrompt')?.innerText || '').includes('*'));
    await panel.sessionContext.session?.kernel?.interrupt();
    return {ok: false, timeout: true, cell, kernel};
  }
  return {ok: ok !== false, timeout: false, kernel};
}"""

_REPORT = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const errors = [], views = [], deadViews = [], stderr = [];
  let unrun = 0;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    if (cell.model.sharedModel.getSource().trim() && cell.model.executionCount === null) unrun++;
    const area = cell.outputArea;
    for (let j = 0; j < area.model.length; j++) {
      const out = area.model.get(j), node = area.widgets[j] && area.widgets[j].node;
      if (out.type === 'error')
        errors.push(node ? node.innerText.slice(0, 800) : JSON.stringify(out.toJSON()).slice(0, 800));
      if (out.type === 'stream' && out.toJSON().name === 'stderr') stderr.push(String(out.toJSON().text).slice(0, 300));
      if (out.data && out.data['application/vnd.jupyter.widget-view+json']) {
        views.push(j);
        if (!node || !node.querySelector('.jupyter-widgets') || node.innerText.includes('Error displaying widget'))
          deadViews.push(node ? node.innerText.slice(0, 200) : '(no view)');
      }
    }
  }
  const imgs = [...panel.node.querySelectorAll('.jp-OutputArea-output img')];
  const broken = imgs.filter(i => i.offsetParent !== null && !(i.complete && i.naturalWidth > 0))
                     .map(i => i.src.slice(0, 80));
  return {errors, views: views.length, deadViews, images: imgs.length, broken, unrun, stderr,
          text: panel.node.innerText.includes('Error displaying widget')};
}"""


def _open(page, name: str) -> None:
    assert page.evaluate(_OPEN, name) == name
    page.wait_for_function("(name) => window.jupyterapp.shell.currentWidget?.context?.path === name", arg=name)


def _img_src(page, selector: str) -> str:
    return page.eval_on_selector(selector, "el => el.src")


def _wait_src_change(page, selector: str, before: str) -> str:
    page.wait_for_function("([sel, before]) => { const el = document.querySelector(sel);"
                           " return el && el.src && el.src !== before; }", arg=[selector, before], timeout=60_000)
    return _img_src(page, selector)


def _interact(page, kind: str) -> None:
    """One interaction per explorer; asserts that its preview is redrawn."""
    root = f".{kind}"
    if kind == "cinb-rule-explorer":
        sel = f"{root} img.cinb-result"
        before = _img_src(page, sel)
        box = page.locator(f"{root} .cinb-rule input")
        box.fill("imageMogr2/crop/300x100/rotate/90")
        box.press("Enter")
        _wait_src_change(page, sel, before)
        assert "100×300" in page.inner_text(root)  # the result's own size, as CI gives it
        w, h = page.eval_on_selector(sel, "el => [el.naturalWidth, el.naturalHeight]")
        assert w * 3 == h, (w, h)
    elif kind == "cinb-watermark-tuner":
        sel = f"{root} img.cinb-preview"
        before = _img_src(page, sel)
        page.locator(f"{root} .cinb-gravity select").select_option("NorthWest")
        _wait_src_change(page, sel, before)
        geo = page.eval_on_selector(sel, "el => { const r = el.getBoundingClientRect();"
                                         " return [el.naturalWidth, el.naturalHeight, r.width, r.height]; }")
        natural, shown = geo[0] / geo[1], geo[2] / geo[3]
        assert abs(shown / natural - 1) < 0.02, f"WatermarkTuner preview distorted: {geo}"
    elif kind == "cinb-compression-tuner":
        sel = f"{root} img.cinb-preview"
        before = _img_src(page, sel)
        page.locator(f"{root} .cinb-format select").select_option(index=0)
        _wait_src_change(page, sel, before)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(page, name):
    page.errors.clear()
    try:
        _open(page, name)
        run = page.evaluate(_RUN_ALL, RUN_TIMEOUT_S * 1000)
        assert run["kernel"] == "cinb", f"{name} ran on kernel {run['kernel']!r}, not 'cinb'"
        assert not run["timeout"], f"{name}: cell {run['cell']} still running after {RUN_TIMEOUT_S} s"
        page.wait_for_function("() => { const s = window.jupyterapp.shell.currentWidget.sessionContext;"
                               " return s.kernelDisplayStatus === 'idle'; }")
        page.wait_for_timeout(500)  # widget views attach after the kernel goes idle
        report = page.evaluate(_REPORT)
        print(f"{name}: {report['views']} widget views, {report['images']} pictures, stderr: {report['stderr']}")
        assert report["errors"] == [], f"{name}: error output:\n" + "\n---\n".join(report["errors"])
        assert run["ok"] and report["unrun"] == 0, f"{name}: {report['unrun']} cells did not run"
        assert report["deadViews"] == [] and not report["text"], f"{name}: widgets not live: {report['deadViews']}"
        assert report["broken"] == [], f"{name}: pictures that do not load: {report['broken']}"
        if name not in WITHOUT_PICTURES:
            assert report["images"] > 0, f"{name}: no picture rendered"
        if name in EXPLORERS:
            assert report["views"] > 0, f"{name}: the explorer did not render"
            _interact(page, EXPLORERS[name])
        assert not page.errors, f"{name}: JavaScript errors: {page.errors}"
    finally:
        page.evaluate(_CLOSE)
