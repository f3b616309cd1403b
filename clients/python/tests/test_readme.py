"""The documentation's Python: the client README's tour, all its blocks run in order
as one script, and the Python part of doc/clients.md, each in an interpreter of its
own with the PG* variables naming the run's database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import session_registry

CLIENT_README = Path(__file__).resolve().parent.parent / "README.md"


def clients_page() -> Path:
    root = Path(os.environ["SESSION_ROOT"]) if os.environ.get("SESSION_ROOT") else Path(__file__).resolve().parents[3]
    path = root / "doc" / "clients.md"
    assert path.is_file(), f"{path} is missing (set SESSION_ROOT to the tree's root)"
    return path


def python_blocks(text: str) -> List[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.M | re.S)


def run(script: str, dbname: str, tmp_path: Path) -> str:
    path = tmp_path / "readme_script.py"
    path.write_text(script)
    env = dict(os.environ, PGDATABASE=dbname)
    package_dir = str(Path(session_registry.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_dir, env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, str(path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, script + "\n----\n" + done.stdout + done.stderr
    return done.stdout


def tour() -> str:
    blocks = python_blocks(CLIENT_README.read_text())
    assert len(blocks) >= 8
    return "\n".join(blocks)


def check_tour_output(out: str) -> None:
    assert "[('pump', 'ann')]" in out
    assert "SE404 session 4242424242 not found" in out
    assert "invalid regular expression in username_regex" in out
    assert out.rstrip().endswith("no such session")


def test_the_tour_runs(dbname: str, tmp_path: Path) -> None:
    check_tour_output(run(tour(), dbname, tmp_path))


def test_the_clients_pages_python_part_runs(dbname: str, tmp_path: Path) -> None:
    text = clients_page().read_text()
    part = text[text.index("\n## Python\n"):text.index("\n## Java\n")]
    blocks = python_blocks(part)
    assert len(blocks) == 1
    run(blocks[0], dbname, tmp_path)
