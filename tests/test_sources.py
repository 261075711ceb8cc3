"""colorgan.data.sources: folders, globs, list files and single files become named sources in a fixed order."""

from pathlib import Path

import pytest

from colorgan.data.sources import gather_sources
from colorgan.errors import UserError
from conftest import write_scenes


def test_folders_recurse_and_keep_only_image_files(tmp_path):
    photos = write_scenes(tmp_path / "photos" / "nested", 2, size=32)
    (tmp_path / "photos" / "UPPER.JPG").write_bytes(photos[0].read_bytes())
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    sources = gather_sources([str(tmp_path / "photos")])
    assert sorted(s.name for s in sources) == ["UPPER.JPG", "nested/scene_000.jpg", "nested/scene_001.jpg"]
    assert all(Path(s.path).is_file() for s in sources)


def test_list_files_globs_and_single_files(tmp_path):
    photos = write_scenes(tmp_path / "good", 12, size=32)
    listing = tmp_path / "list.txt"
    listing.write_text("# chosen photos\ngood/scene_000.jpg\n\n  good/scene_001.jpg  \n")
    sources = gather_sources([str(listing), str(tmp_path / "good" / "scene_01*.jpg"), str(photos[5])])
    paths = {s.name: s.path for s in sources}
    assert set(paths) == {"good/scene_000.jpg", "good/scene_001.jpg", "scene_010.jpg", "scene_011.jpg", "scene_005.jpg"}
    assert paths["good/scene_001.jpg"] == str(tmp_path / "good" / "scene_001.jpg")


def test_order_does_not_depend_on_the_order_given(tmp_path):
    photos = [str(p) for p in write_scenes(tmp_path, 6, size=32)]
    assert gather_sources(photos) == gather_sources(photos[::-1])


def test_other_suffixes_can_be_asked_for(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    write_scenes(tmp_path, 1, size=32)
    assert [s.name for s in gather_sources([str(tmp_path)], {".mp4"})] == ["clip.mp4"]


def test_missing_and_empty_inputs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        gather_sources([str(tmp_path / "missing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images found"):
        gather_sources([str(tmp_path / "empty")])
