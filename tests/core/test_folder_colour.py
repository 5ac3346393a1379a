"""Whether a folder of images is colour, as the training panel asks before it loads one."""

from __future__ import annotations

from PIL import Image

from latentlab.data import folder_has_colour


def _folder(root, colours):
    for k, colour in enumerate(colours):
        (root / f"class{k}").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (20, 20), colour).save(root / f"class{k}" / f"{i}.png")
    (root / "class0" / "notes.txt").write_text("not an image")  # passed over
    return root


def test_grey_images_saved_as_rgb_are_grey_and_tinted_ones_colour(tmp_path):
    assert not folder_has_colour(_folder(tmp_path / "grey", [(30, 30, 30), (200, 200, 200)]))
    assert folder_has_colour(_folder(tmp_path / "colour", [(30, 30, 30), (200, 40, 40)]))
    assert not folder_has_colour(tmp_path / "missing")  # the loader says what is wrong, not this
