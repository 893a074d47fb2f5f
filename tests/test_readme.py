"""README.md as a new user meets it: every example runs, and the outputs it shows are the outputs.

Each ```python block runs in a fresh interpreter (settings such as ``configure(...)`` are process-wide)
whose working directory holds what the README's examples name: ``photo.jpg`` (the sample's
``coffee.jpg``), ``photo.png``, a small ``photos/`` folder (two photos and the truncated JPEG, so the
error rows the README promises appear), ``bucket/logo.png`` for the watermark URL, and ``datasets``
(the repository's, read only). A line ``expression  # <python literal>`` (or ``# <literal>: prose``,
``# <literal> (prose)``) is checked: the expression must equal the literal. Lines of ```bash blocks
that start with ``cinb `` run as commands there too; the set-up scripts are only syntax-checked (they
install packages). The one block that needs a cluster runs on a local, in-process Dask cluster.
"""

from __future__ import annotations

import ast
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SAMPLE = REPO / "datasets" / "sample"
BIN = Path(sys.executable).parent

# README text -> what runs here instead (each must still be in the README, or this test fails).
SUBSTITUTIONS = {
    'Client("tcp://scheduler:8786")': "Client(LocalCluster(n_workers=1, processes=False, dashboard_address=None))",
    'to_dask("/shared/photos", npartitions=64)': 'to_dask(os.path.abspath("photos"), npartitions=2)',
}


def readme_blocks(lang: str, path: Path = README) -> list[tuple[int, str]]:
    """``(line number, code)`` of every fenced block of ``lang``, dedented (blocks inside list items)."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if m:
            j = i + 1
            while not re.match(r"^\s*```\s*$", lines[j]):
                j += 1
            if m.group(2) == lang:
                blocks.append((i + 1, textwrap.dedent("\n".join(lines[i + 1:j])) + "\n"))
            i = j
        i += 1
    return blocks


PYTHON_BLOCKS = readme_blocks("python")
BASH_BLOCKS = readme_blocks("bash")
DATASETS_README = REPO / "datasets" / "README.md"


def _literal_of(comment: str):
    """The Python literal a comment starts with (alone, or followed by ': ' or ' ('), else raise."""
    text = comment.lstrip("#").strip()
    cuts = [len(text)] + [m.start() for m in re.finditer(r": | \(", text)]
    for cut in sorted(set(cuts), reverse=True):
        try:
            return ast.literal_eval(text[:cut])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    raise ValueError(comment)


def with_checks(code: str) -> tuple[str, int]:
    """``code`` with each one-line expression statement whose comment is a literal turned into an assert."""
    comments = {tok.start[0]: tok.string for tok in tokenize.generate_tokens(io.StringIO(code).readline)
                if tok.type == tokenize.COMMENT}
    lines, checks = code.splitlines(), 0
    for node in ast.parse(code).body:
        if not isinstance(node, ast.Expr) or node.lineno != node.end_lineno or node.lineno not in comments:
            continue
        try:
            expected = _literal_of(comments[node.lineno])
        except ValueError:
            continue
        line = lines[node.lineno - 1]
        expr = line[node.col_offset:node.end_col_offset]
        lines[node.lineno - 1] = (f"{line[:node.col_offset]}__got = ({expr}); assert __got == {expected!r}, "
                                  f"('README says', {expected!r}, 'got', __got)")
        checks += 1
    return "\n".join(lines) + "\n", checks


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("readme")
    shutil.copy(SAMPLE / "coffee.jpg", d / "photo.jpg")
    shutil.copy(SAMPLE / "chelsea.png", d / "photo.png")
    (d / "photos").mkdir()
    for name in ("orientation-6.jpg", "chelsea.jpg", "truncated.jpg"):
        shutil.copy(SAMPLE / name, d / "photos" / name)
    (d / "bucket").mkdir()
    shutil.copy(SAMPLE / "transparent.png", d / "bucket" / "logo.png")
    (d / "datasets").symlink_to(REPO / "datasets", target_is_directory=True)
    return d


def _env(workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINB_")}
    env.update(MPLBACKEND="Agg", CINB_THUMB_CACHE=str(workdir / ".thumbs"), PYTHONWARNINGS="ignore::DeprecationWarning",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def test_readme_has_examples():
    assert len(PYTHON_BLOCKS) >= 6 and BASH_BLOCKS
    text = README.read_text(encoding="utf-8")
    for old in SUBSTITUTIONS:
        assert old in text, f"README no longer says {old!r}: update SUBSTITUTIONS"
    checks = sum(with_checks(code)[1] for _, code in PYTHON_BLOCKS)
    assert checks >= 3, "the README's '# literal' output comments are no longer checked"


@pytest.mark.parametrize("line,code", PYTHON_BLOCKS, ids=[f"line{n}" for n, _ in PYTHON_BLOCKS])
def test_python_example(line, code, workdir):
    run_block("README.md", line, code, workdir)


@pytest.mark.parametrize("line,code", readme_blocks("python", DATASETS_README))
def test_datasets_readme_example(line, code, workdir):
    run_block("datasets/README.md", line, code, workdir)


# Before each block: cinb.apply must not leave error rows other than the truncated sample (an example
# that writes where an earlier one did would otherwise fail quietly, row by row).
APPLY_CHECK = """import os
import cinb as _cinb
_apply = _cinb.apply
def _checked_apply(*args, **kwargs):
    out = _apply(*args, **kwargs)
    bad = out[out["error"].notna() & (out["name"] != "truncated.jpg")]
    assert bad.empty, "cinb.apply error rows: " + bad[["name", "error"]].to_string()
    return out
_cinb.apply = _checked_apply
"""


def run_block(where: str, line: int, code: str, workdir: Path) -> None:
    for old, new in SUBSTITUTIONS.items():
        code = code.replace(old, new)
    checked, _ = with_checks(code)
    script = workdir / f"{where.replace('/', '_').replace('.', '_')}_line{line}.py"
    script.write_text(APPLY_CHECK + checked, encoding="utf-8")
    proc = subprocess.run([sys.executable, script.name], cwd=workdir, env=_env(workdir), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{where} line {line}:\n{code}\n--- stderr ---\n{proc.stderr[-4000:]}"


CLI_LINES = [(n, ln.split("  #")[0].strip()) for n, code in BASH_BLOCKS for ln in code.splitlines()
             if ln.startswith("cinb ")]
QR_LINES = ("cinb ai qrcode-generate qrcode-content=hello -o out/qr.png", "cinb ai QRcode out/qr.png")
OTHER_CLI_LINES = [(n, c) for n, c in CLI_LINES if c not in QR_LINES]  # the QR pair: test_qr_round_trip


@pytest.mark.parametrize("line,command", OTHER_CLI_LINES, ids=[c.split(" -o")[0][:60] for _, c in OTHER_CLI_LINES])
def test_cli_example(line, command, workdir):
    proc = subprocess.run(["bash", "-c", command], cwd=workdir, env=_env(workdir), capture_output=True, text=True,
                          timeout=300)
    # The README says a folder with the sample's truncated.jpg exits 1 after processing everything else.
    ok = proc.returncode == 0 or (proc.returncode == 1 and "truncated.jpg" in proc.stderr
                                  and "Traceback" not in proc.stderr)
    assert ok, f"README.md block at line {line}: {command}\n{proc.stderr[-3000:]}"


def test_qr_round_trip_is_what_the_readme_says(workdir):
    """`cinb ai qrcode-generate ... -o out/qr.png` then `cinb ai QRcode out/qr.png` reads "hello" back."""
    assert set(QR_LINES) <= {c for _, c in CLI_LINES}
    env = _env(workdir)
    subprocess.run(["bash", "-c", QR_LINES[0]], cwd=workdir, env=env, check=True, capture_output=True, timeout=120)
    out = subprocess.run(["bash", "-c", QR_LINES[1]], cwd=workdir, env=env, check=True, capture_output=True,
                         text=True, timeout=120).stdout
    assert '"CodeStatus": 1' in out and '"CodeUrl": "hello"' in out


def test_setup_scripts_named_first_exist():
    scripts = re.findall(r"^bash (scripts/\S+\.sh)", BASH_BLOCKS[0][1], flags=re.M)
    assert {"scripts/demo.sh", "scripts/test.sh", "scripts/lab.sh"} <= set(scripts)
    for s in scripts:
        subprocess.run(["bash", "-n", str(REPO / s)], check=True, timeout=30)


def test_lab_command(workdir):
    out = subprocess.run(["cinb", "lab", "--dry-run", "--no-browser", "--port", "8890"], cwd=workdir,
                         env=_env(workdir), check=True, capture_output=True, text=True, timeout=60).stdout
    assert "jupyterlab" in out and "--port=8890" in out and "notebooks" in out


def test_links_exist():
    text = README.read_text(encoding="utf-8")
    targets = {t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t}
    missing = [t for t in sorted(targets) if t and not (REPO / t).exists()]
    assert targets and not missing


def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


def test_named_functions_exist():
    """Every ``cinb.x.y`` the README names (in prose or code) exists."""
    names = sorted(set(re.findall(r"\bcinb(?:\.[A-Za-z_]\w*)+", README.read_text(encoding="utf-8"))))
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert len(names) > 20 and not missing


def test_datasets_readme_matches_the_folder():
    """datasets/README.md: every sample file named exists, and the count it gives is the count."""
    text = DATASETS_README.read_text(encoding="utf-8")
    files = {p.name for p in SAMPLE.iterdir() if p.name != "MANIFEST.json"}
    named = set(re.findall(r"`([\w.-]+\.(?:jpg|png|gif|webp|heic|avif|bmp))`", text))
    named |= {f"orientation-{i}.jpg" for i in range(1, 9)}
    assert named <= files | {"cmyk.jpg"}, named - files
    assert files <= named, f"not described in datasets/README.md: {sorted(files - named)}"
    assert f"{len(files)} small test images" in text
    sources = {p.name for p in (REPO / "datasets" / "sources").iterdir() if p.name != "SOURCES.json"}
    assert f"{len(sources)} openly licensed real photos" in text


def test_exif_gps_tag_names():
    import cinb

    tags = cinb.exif(SAMPLE / "coffee.jpg")
    assert "GPSLatitude" in tags and "GPSLatitudeRef" in tags
    assert not [k for k in tags if k.startswith("GPSGPS")]


def test_settings_paragraph_names_every_setting():
    """The Settings section names every field of ``cinb.settings.Settings`` and exactly its environment variables."""
    import dataclasses

    from cinb.settings import ENV_VARS, Settings

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Settings"):text.index("## Collections")]
    named = set(re.findall(r"`(\w+)`", section))
    assert {f.name for f in dataclasses.fields(Settings)} <= named
    assert set(re.findall(r"CINB_[A-Z_]+", text)) == set(ENV_VARS.values())


def test_named_analyses_exist():
    """Every analysis the README names (collections and AI sections) is registered, under that name or alias."""
    from cinb.collection.analyses.registry import get_analysis

    text = README.read_text(encoding="utf-8")
    listed = text[text.index("Analyses:"):text.index("; thresholds")]
    names = {n for span in re.findall(r"`([\w/]+)`", listed) for n in span.split("/")}
    for sentence in re.findall(r"[Aa]nalys[ie]s? ((?:`\w+`(?:,\s+|\s+and\s+)?)+)", text):
        names |= set(re.findall(r"`(\w+)`", sentence))
    names |= set(re.findall(r"an `(\w+)` analysis", text))
    assert {"phash", "near_duplicates", "faces", "objects", "logos", "aigc", "embedding"} <= names
    missing = []
    for name in sorted(names):
        try:
            get_analysis(name)
        except Exception:  # noqa: BLE001 - CIError or KeyError: either way the README names nothing
            missing.append(name)
    assert not missing
