"""Files for slides and papers: strips as PNG and animated GIF, comparisons as a labelled
grid, latents with labels as CSV. Rendered with Pillow, no Qt, so the CLI and the window
write the same pictures. Every file is written atomically (``latentlab.atomic``): a full
disk or a kill leaves no truncated file, and a failure is one OutputError line.

Pictures are meant to be read from the back of a lecture hall: frames are enlarged with
nearest-neighbour (``scale``), captions use a scalable font, and a frame whose judged
class is neither the start nor the end class gets a red caption and a red bar under it.

Layouts are computed by small dataclasses (:class:`StripLayout`,
:class:`ComparisonLayout`) before anything is drawn, so views and tests can ask where
each frame lands.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from latentlab.atomic import write_output
from latentlab.errors import ConfigError
from latentlab.latent.compare import StripSet
from latentlab.latent.images import to_uint8
from latentlab.latent.path_metrics import PathMetrics, report

PAD = 6
FONT_SIZE = 14
CAPTION_H = FONT_SIZE + 8
TITLE_H = FONT_SIZE + 12
MIN_COLUMN = 56  # wide enough for a caption such as "8 100%"
MARK_H = 3  # the red bar under a frame of a third class
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
MUTED = (110, 110, 110)
INTRUDER = (200, 30, 30)
MAX_SCALE = 32
GIF_MIN_DURATION_MS = 20
DEFAULT_DURATION_MS = 150


#: Fonts tried in order: DejaVu Sans has Greek (β in "β-VAE") and is on most Linux
#: systems and inside matplotlib; Pillow's own default font lacks Greek letters.
FONT_FILES = ("DejaVuSans.ttf", "Arial.ttf", "arial.ttf")


def _bundled_font_files() -> list[str]:
    """DejaVu Sans shipped inside matplotlib, when matplotlib is installed (not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [str(Path(loc) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf") for loc in spec.submodule_search_locations]


@lru_cache(maxsize=4)
def _font(size: int = FONT_SIZE) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for name in (*FONT_FILES, *_bundled_font_files()):
        try:
            return ImageFont.truetype(name, size)  # Pillow looks bare names up in the system font folders
        except (OSError, ImportError):
            continue
    try:
        return ImageFont.load_default(size=size)  # scalable when Pillow has FreeType
    except (TypeError, OSError):  # old Pillow or no FreeType: the small bitmap font
        return ImageFont.load_default()


def text_width(text: str) -> int:
    left, _, right, _ = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=_font())
    return int(np.ceil(right - left))


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= MAX_SCALE:
        raise ConfigError(f"scale must be a whole number from 1 to {MAX_SCALE}, got {scale!r}")
    return int(scale)


def _tiles(frames: torch.Tensor | np.ndarray, scale: int) -> np.ndarray:
    """(n, C, H, W) in [0, 1] -> (n, H*scale, W*scale, 3) uint8."""
    arr = to_uint8(frames)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3) or len(arr) == 0:
        raise ConfigError(f"frames must be (n, C, H, W) with 1 or 3 channels, got shape {tuple(np.shape(frames))}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr.repeat(scale, axis=1).repeat(scale, axis=2)


def frame_caption(cls: int, confidence: float, class_names: Sequence[str] = ()) -> str:
    """"8 97%": the judged class and the judge's confidence."""
    name = class_names[cls] if 0 <= cls < len(class_names) else str(cls)
    return f"{name} {confidence:.0%}"


#: Joins two classes in pictures: the fallback font has no arrow glyph.
ARROW = " to "


def metrics_lines(m: PathMetrics, class_names: Sequence[str] = ()) -> list[tuple[str, bool]]:
    """The lines printed beside a strip, each with a flag "show in red": the verdict,
    purity, the judged ends, third classes, smoothness (path_metrics.report, the texts
    every display shows). ``m`` is the whole path's metrics, whatever frame is drawn."""
    return report(m, class_names, ARROW).lines()


def path_headline(m: PathMetrics, class_names: Sequence[str] = ()) -> str:
    """"4 to 9 directly", "never shows 4: 9 throughout": a picture's verdict line."""
    return report(m, class_names, ARROW).headline


METRIC_LINE_H = FONT_SIZE + 4


# =================================================================== single strip
@dataclass(frozen=True)
class StripLayout:
    n: int
    tile_w: int
    tile_h: int
    column_w: int
    title_h: int
    caption_h: int
    title_w: int = 0  # the title's width: the picture is at least this wide

    @property
    def width(self) -> int:
        return max(PAD + self.n * (self.column_w + PAD), PAD + self.title_w + PAD)

    @property
    def height(self) -> int:
        return self.title_h + PAD + self.tile_h + MARK_H + self.caption_h + PAD

    def tile_origin(self, i: int) -> tuple[int, int]:
        """(x, y) of the upper-left pixel of frame i."""
        x = PAD + i * (self.column_w + PAD) + (self.column_w - self.tile_w) // 2
        return x, self.title_h + PAD


def strip_layout(n: int, image_hw: tuple[int, int], scale: int, *, title: str | None, captions: bool) -> StripLayout:
    tile_h, tile_w = image_hw[0] * scale, image_hw[1] * scale
    return StripLayout(n, tile_w, tile_h, max(tile_w, MIN_COLUMN if captions else 0),
                       TITLE_H if title else 0, CAPTION_H if captions else 0, text_width(title) if title else 0)


def render_strip(
    frames: torch.Tensor | np.ndarray,
    *,
    scale: int = 3,
    metrics: PathMetrics | None = None,
    class_names: Sequence[str] = (),
    title: str | None = None,
    first_index: int = 0,
) -> Image.Image:
    """Frames in a row; with ``metrics`` (of the whole path) a caption (class, confidence)
    under each frame. ``frames`` may be a part of the path starting at frame
    ``first_index`` (a GIF draws one frame at a time)."""
    scale = _check_scale(scale)
    tiles = _tiles(frames, scale)
    if metrics is not None and not 0 <= first_index <= metrics.n_frames - len(tiles):
        raise ConfigError(f"frames {first_index}..{first_index + len(tiles) - 1} but metrics for {metrics.n_frames}")
    lay = strip_layout(len(tiles), tuple(np.shape(frames)[-2:]), scale, title=title, captions=metrics is not None)
    img = Image.new("RGB", (lay.width, lay.height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    if title:
        draw.text((PAD, PAD // 2), title, fill=TEXT, font=_font())
    for i, tile in enumerate(tiles):
        x, y = lay.tile_origin(i)
        img.paste(Image.fromarray(tile), (x, y))
        if metrics is not None:
            _caption(draw, metrics, first_index + i, x, y + lay.tile_h, lay.tile_w, class_names, lay.column_w)
    return img


def _caption(draw: ImageDraw.ImageDraw, m: PathMetrics, i: int, x: int, y: int, tile_w: int,
             class_names: Sequence[str], column_w: int) -> None:
    """Caption of frame i centred under its tile, red with a red bar for a third class."""
    cls = m.classes[i]
    intruder = cls not in (m.start_class, m.end_class)
    if intruder:
        draw.rectangle([x, y, x + tile_w - 1, y + MARK_H - 1], fill=INTRUDER)
    text = fit_text(frame_caption(cls, m.confidences[i], class_names), column_w)
    colour = INTRUDER if intruder else (TEXT if m.confidences[i] >= 0.5 else MUTED)
    draw.text((x + (tile_w - text_width(text)) // 2, y + MARK_H + 2), text, fill=colour, font=_font())


def fit_text(text: str, width: int) -> str:
    """``text`` shortened until it fits ``width`` pixels: first the confidence goes
    ("Ankle boot 97%" -> "Ankle boot"), then letters from the end ("Ankle b…")."""
    if text_width(text) <= width:
        return text
    name = text.rsplit(" ", 1)[0] if text.endswith("%") else text
    while len(name) > 1 and text_width(name) > width:
        name = name[:-2] + "…"
    return name


def _save(img: Image.Image, path: str | Path, suffixes: tuple[str, ...], **kwargs) -> Path:
    """Write ``img`` atomically (a full disk leaves no truncated picture; see latentlab.atomic)."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{path} should end in {' or '.join(suffixes)}")
    image_format = Image.registered_extensions()[path.suffix.lower()]
    return write_output(path, lambda f: img.save(f, format=image_format, **kwargs), what="the picture")


def _unpack(strip, metrics: PathMetrics | None) -> tuple:
    """(frames, metrics) of a strip given as frames, or as any object with ``frames`` and
    optionally ``metrics`` (a compare.Strip, the window's path result)."""
    if hasattr(strip, "frames"):
        return strip.frames, metrics if metrics is not None else getattr(strip, "metrics", None)
    return strip, metrics


def save_strip_png(
    strip,
    path: str | Path,
    *,
    scale: int = 3,
    metrics: PathMetrics | None = None,
    class_names: Sequence[str] = (),
    title: str | None = None,
) -> Path:
    """One strip as a PNG (see :func:`render_strip`); returns the path written.

    ``strip`` is (n, C, H, W) frames, or an object with ``frames`` (and ``metrics``, used
    for the captions unless ``metrics`` is given).
    """
    frames, metrics = _unpack(strip, metrics)
    return _save(render_strip(frames, scale=scale, metrics=metrics, class_names=class_names, title=title),
                 path, (".png",))


# =================================================================== comparison
@dataclass(frozen=True)
class ComparisonLayout:
    n_rows: int  # models
    n_frames: int
    tile_w: int
    tile_h: int
    column_w: int
    label_w: int  # the left column with model names
    metrics_w: int  # the right column with path metrics
    title_h: int
    sources_h: int  # the row showing the two source images (0 when there are none)
    title_w: int = 0  # the title's width: the picture is at least this wide
    metrics_h: int = 0  # height of the metrics text beside a strip


    @property
    def row_h(self) -> int:
        return max(self.tile_h + MARK_H + CAPTION_H, self.metrics_h) + PAD

    @property
    def width(self) -> int:
        grid = self.label_w + PAD + self.n_frames * (self.column_w + PAD) + self.metrics_w
        return max(grid, PAD + self.title_w + PAD)

    @property
    def height(self) -> int:
        return self.title_h + self.sources_h + self.n_rows * self.row_h + PAD

    @property
    def metrics_x(self) -> int:
        """Left edge of the metrics text beside each strip."""
        return self.label_w + PAD + self.n_frames * (self.column_w + PAD) + PAD

    def column_x(self, col: int) -> int:
        return self.label_w + PAD + col * (self.column_w + PAD) + (self.column_w - self.tile_w) // 2

    def tile_origin(self, row: int, col: int) -> tuple[int, int]:
        """(x, y) of the upper-left pixel of frame ``col`` of model ``row``."""
        return self.column_x(col), self.title_h + self.sources_h + row * self.row_h

    def source_origin(self, which: int) -> tuple[int, int]:
        """(x, y) of source image 0 (above the first column) or 1 (above the last)."""
        return self.column_x(0 if which == 0 else self.n_frames - 1), self.title_h


def comparison_layout(strip_set: StripSet, scale: int, *, title: str | None = None,
                      frame: int | None = None) -> ComparisonLayout:
    """Where everything goes; ``title`` defaults to :func:`comparison_title`. With
    ``frame`` only that frame of each path is drawn (a GIF's frame), without sources."""
    if not strip_set.strips:
        raise ConfigError("nothing to draw: the comparison has no strips")
    n = strip_set.n_frames
    if any(len(s.frames) != n for s in strip_set.strips):
        raise ConfigError("the strips of a comparison must have the same number of frames")
    if frame is not None and not 0 <= frame < n:
        raise ConfigError(f"frame {frame} is not among the {n} frames")
    h, w = strip_set.strips[0].frames.shape[-2:]
    tile_h, tile_w = int(h) * scale, int(w) * scale
    label_w = PAD + max(text_width(name) for name in [*strip_set.names, "sources"]) + PAD
    lines = [metrics_lines(s.metrics, strip_set.class_names) for s in strip_set.strips]
    metrics_w = PAD + max(text_width(line) for block in lines for line, _ in block) + PAD
    metrics_h = max(len(block) for block in lines) * METRIC_LINE_H
    sources_h = tile_h + CAPTION_H + PAD if strip_set.sources is not None and frame is None else 0
    title = title or comparison_title(strip_set)
    columns = n if frame is None else 1
    return ComparisonLayout(len(strip_set.strips), columns, tile_w, tile_h, max(tile_w, MIN_COLUMN), label_w,
                            metrics_w, TITLE_H, sources_h, text_width(title), metrics_h)


def comparison_title(strip_set: StripSet) -> str:
    arrow = f"{strip_set.class_name(strip_set.start_class)} to {strip_set.class_name(strip_set.end_class)}"
    return f"{arrow}, {strip_set.mode}, {strip_set.n_frames} frames"


def render_comparison(strip_set: StripSet, *, scale: int = 3, title: str | None = None,
                      frame: int | None = None) -> Image.Image:
    """The aligned grid: one row per model, its name on the left and its metrics on the
    right, the two source images above the first and last columns. With ``frame``, only
    that frame of every path (the metrics are still the whole path's)."""
    scale = _check_scale(scale)
    title = title or comparison_title(strip_set)
    lay = comparison_layout(strip_set, scale, title=title, frame=frame)
    img = Image.new("RGB", (lay.width, lay.height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    draw.text((PAD, PAD // 2), title, fill=TEXT, font=_font())
    names = strip_set.class_names
    if lay.sources_h:
        src = _tiles(strip_set.sources, scale)
        y_mid = lay.title_h + lay.tile_h // 2 - FONT_SIZE // 2
        draw.text((PAD, y_mid), "sources", fill=MUTED, font=_font())
        for which, cls in ((0, strip_set.start_class), (1, strip_set.end_class)):
            x, y = lay.source_origin(which)
            img.paste(Image.fromarray(src[which]), (x, y))
            label = names[cls] if 0 <= cls < len(names) else str(cls)
            draw.text((x + (lay.tile_w - text_width(label)) // 2, y + lay.tile_h + 2), label, fill=MUTED,
                      font=_font())
    shown = range(strip_set.n_frames) if frame is None else [frame]
    for row, strip in enumerate(strip_set.strips):
        tiles = _tiles(strip.frames[list(shown)], scale)
        _, y = lay.tile_origin(row, 0)
        draw.text((PAD, y + lay.tile_h // 2 - FONT_SIZE // 2), strip.name, fill=TEXT, font=_font())
        for col, (index, tile) in enumerate(zip(shown, tiles)):
            x, y = lay.tile_origin(row, col)
            img.paste(Image.fromarray(tile), (x, y))
            _caption(draw, strip.metrics, index, x, y + lay.tile_h, lay.tile_w, names, lay.column_w)
        mx = lay.metrics_x
        for k, (line, red) in enumerate(metrics_lines(strip.metrics, names)):
            draw.text((mx, y + k * METRIC_LINE_H), line, fill=INTRUDER if red else TEXT, font=_font())
    return img


def save_comparison_png(strip_set: StripSet, path: str | Path, *, scale: int = 3, title: str | None = None) -> Path:
    """The comparison grid (see :func:`render_comparison`) as a PNG; returns the path."""
    return _save(render_comparison(strip_set, scale=scale, title=title), path, (".png",))


# ========================================================================= GIF
def _with_progress_bar(img: Image.Image, i: int, n: int) -> Image.Image:
    """``img`` with a bar below it, (i+1)/n of the width: shows where the loop is, and
    makes every frame differ so the GIF writer cannot merge identical frames."""
    w, h = img.size
    bar_h = max(3, h // 40)
    out = Image.new("RGB", (w, h + 1 + bar_h), BACKGROUND)
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    draw.rectangle([0, h + 1, w - 1, h + bar_h], fill=(225, 225, 225))
    draw.rectangle([0, h + 1, round(w * (i + 1) / n) - 1, h + bar_h], fill=(60, 110, 200))
    return out


def _write_gif(images: list[Image.Image], path: str | Path, duration_ms: int) -> Path:
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms < GIF_MIN_DURATION_MS:
        raise ConfigError(f"frame duration must be a whole number of at least {GIF_MIN_DURATION_MS} ms")
    frames = [_with_progress_bar(img, i, len(images)) for i, img in enumerate(images)]
    return _save(frames[0], path, (".gif",), save_all=True, append_images=frames[1:], duration=duration_ms,
                 loop=0, optimize=False, disposal=1)


def save_strip_gif(
    strip,
    path: str | Path,
    *,
    scale: int = 6,
    duration_ms: int | None = None,
    fps: float | None = None,
    metrics: PathMetrics | None = None,
    class_names: Sequence[str] = (),
    title: str | None = None,
) -> Path:
    """An animated GIF with exactly one GIF frame per path frame, looping forever.

    ``strip`` is frames or an object with ``frames`` / ``metrics`` (as for
    :func:`save_strip_png`). ``scale`` enlarges pixels (6: a 28-pixel digit becomes 168
    pixels, visible on a projector); with metrics each frame carries its judged class and
    confidence, and the title (default: the path's verdict) is on every frame.
    Speed: ``duration_ms`` per frame or ``fps`` (default 150 ms, ~7 fps).
    """
    frames, metrics = _unpack(strip, metrics)
    scale = _check_scale(scale)
    if len(frames) == 0:
        raise ConfigError("a GIF needs at least one frame")
    if title is None and metrics is not None:
        title = path_headline(metrics, class_names)
    images = [
        render_strip(frames[i : i + 1], scale=scale, class_names=class_names, metrics=metrics, first_index=i,
                     title=title)
        for i in range(len(frames))
    ]
    return _write_gif(images, path, _duration(duration_ms, fps))


def _duration(duration_ms: int | None, fps: float | None) -> int:
    """Milliseconds per GIF frame from either form; GIF stores hundredths of a second."""
    if duration_ms is not None and fps is not None:
        raise ConfigError("give a GIF's speed as duration_ms or as fps, not both")
    if fps is not None:
        if not (isinstance(fps, (int, float)) and 0 < fps <= 1000 / GIF_MIN_DURATION_MS):
            raise ConfigError(f"fps must be above 0 and at most {1000 // GIF_MIN_DURATION_MS}, got {fps!r}")
        return max(GIF_MIN_DURATION_MS, int(round(1000 / fps / 10)) * 10)
    return DEFAULT_DURATION_MS if duration_ms is None else duration_ms


def save_comparison_gif(
    strip_set: StripSet, path: str | Path, *, scale: int = 4, duration_ms: int | None = None,
    fps: float | None = None,
) -> Path:
    """The comparison animated: GIF frame i shows frame i of every model, one under the
    other with their names and the whole path's metrics. Exactly ``n_frames`` GIF
    frames, looping."""
    scale = _check_scale(scale)
    images = [render_comparison(strip_set, scale=scale, frame=i,
                                title=f"{comparison_title(strip_set)}: frame {i + 1}")
              for i in range(strip_set.n_frames)]
    return _write_gif(images, path, _duration(duration_ms, fps))


# ========================================================================= CSV
def save_latents_csv(
    path: str | Path,
    latents: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray | Sequence[int] | None = None,
    class_names: Sequence[str] = (),
) -> Path:
    """Latents as CSV: columns z0..z{D-1}, then ``label`` and ``class_name`` when labels
    are given. Six significant digits: enough for plotting, a tenth of full precision."""
    z = latents.detach().float().cpu().numpy() if isinstance(latents, torch.Tensor) else np.asarray(latents)
    if z.ndim != 2:
        raise ConfigError(f"latents must be (N, D), got shape {tuple(z.shape)}")
    y = None
    if labels is not None:
        y = (labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)).astype(np.int64)
        if len(y) != len(z):
            raise ConfigError(f"{len(z)} latents but {len(y)} labels")
    header = [f"z{i}" for i in range(z.shape[1])] + (["label", "class_name"] if y is not None else [])

    def write(f) -> None:
        w = csv.writer(f)
        w.writerow(header)
        for i, row in enumerate(z):
            extra = []
            if y is not None:
                label = int(y[i])
                extra = [label, class_names[label] if 0 <= label < len(class_names) else str(label)]
            w.writerow([f"{v:.6g}" for v in row] + extra)

    return write_output(path, write, mode="w", newline="", encoding="utf-8", what="the latents")
