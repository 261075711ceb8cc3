import json
import subprocess
import sys
from pathlib import Path

from conftest import write_scenes

RECIPE = Path(__file__).resolve().parents[1] / "data_prep" / "places365.py"


def test_places365_recipe_on_a_fake_tree(tmp_path):
    src = tmp_path / "test_256"
    for i, path in enumerate(write_scenes(tmp_path / "scenes", 12, size=256)):
        src.mkdir(exist_ok=True)
        path.rename(src / f"Places365_test_{i + 1:08d}.jpg")
    (src / "Places365_test_00000013.jpg").write_bytes(b"truncated")
    out = tmp_path / "shards"
    result = subprocess.run([sys.executable, str(RECIPE), "--src", str(src), "--out", str(out), "--workers", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"] == 13 and manifest["kept"] == 12 and manifest["rejected"] == {"undecodable": 1}
    assert all(s["count"] <= 5000 for s in manifest["shards"])


def test_places365_recipe_wrong_folder_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(RECIPE), "--src", str(tmp_path), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "test_256" in result.stderr
