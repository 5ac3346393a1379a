"""Presentation mode (F11), the look that follows the system, the demo keys and their help."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from latentlab.ui.base import theme
from latentlab.ui.main import presentation
from latentlab.ui.main.shortcuts_help import ShortcutsDialog, shortcut_rows, show_shortcuts


def looks_of(window):
    """What presentation mode changes, in numbers."""
    lmap = window.latent_map
    tick = lmap.plot_item.getAxis("bottom").style["tickFont"]
    curves = [i for i in window.loss_plot.scene().items() if isinstance(i, pg.PlotDataItem)]
    kl_tick = window.beta_panel.kl.getPlotItem().getAxis("bottom").style.get("tickFont") or QApplication.font()
    return {
        "kl_tick_font": kl_tick.pointSizeF(),  # an axis without a font of its own came back large
        "app_font": QApplication.font().pointSizeF(),
        "tick_font": tick.pointSizeF(),
        "readout_font": window.decoded_view.readout.font().pointSizeF(),
        "dot": lmap.dot_size(),
        "marker": lmap.marker_size(),
        "class0": lmap.colors[0].name(),
        "background": lmap.plot.backgroundBrush().color().name(),
        "window_colour": QApplication.palette().window().color().name(),
        "line": max(pg.mkPen(i.opts["pen"]).widthF() for i in curves),
    }


@pytest.fixture
def presenting(window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    yield window
    window.presentation.set_active(False)  # the look is application-wide: leave it as found


def test_f11_toggles_presentation_mode_and_back(qtbot, presenting):
    window = presenting
    action = window.presentation.toggle_action
    assert action.shortcut().toString() == "F11" and action.toolTip()
    before = looks_of(window)
    assert theme.current() in (theme.LIGHT, theme.DARK)

    action.trigger()
    during = looks_of(window)
    look = theme.projector_look(window.screen().geometry().height())  # the offscreen screen: 800 lines
    assert window.presentation.active and theme.current() == look and look.name == "projector"
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    for key in ("app_font", "tick_font", "kl_tick_font", "readout_font", "dot", "marker", "line"):
        assert during[key] > before[key] * 1.15, key
    assert during["background"] == "#000000" and during["window_colour"] == "#000000"
    assert during["class0"] != before["class0"]

    action.trigger()
    assert not window.presentation.active and not window.isFullScreen()
    assert looks_of(window) == before


def test_presentation_mode_survives_a_model_switch(presenting, checkpoints):
    window = presenting
    window.presentation.set_active(True)
    big = looks_of(window)
    assert window.open_checkpoint(checkpoints["vae4"])
    after = looks_of(window)
    assert after["dot"] == big["dot"] and after["class0"] == big["class0"] and after["marker"] == big["marker"]
    title = window.latent_map.plot_item.titleLabel
    assert float(title.opts["size"].removesuffix("pt")) >= 10 * theme.current().font_scale - 0.1  # large too


def test_the_look_follows_the_system_colour_scheme(window, monkeypatch):
    assert theme.system_look() is theme.LIGHT  # offscreen reports no scheme: light
    hints = QApplication.styleHints()
    monkeypatch.setattr(presentation, "system_look", lambda: theme.DARK)
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    try:
        assert theme.current() is theme.DARK
        assert window.latent_map.plot.backgroundBrush().color().name() == theme.DARK.plot_background
        window.presentation.set_active(True)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # presentation mode keeps its own look
        assert theme.current().name == "projector"
        window.presentation.set_active(False)
        assert theme.current() is theme.DARK
    finally:
        monkeypatch.setattr(presentation, "system_look", lambda: theme.LIGHT)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert theme.current() is theme.LIGHT


def test_play_interpolation_says_so_without_a_strip_and_calls_one_that_listens(window):
    action = window.presentation.play_action
    assert action.text().replace("&", "") == "Play interpolation" and action.shortcut().toString() == "P"
    action.trigger()
    assert "No interpolation strip" in window.statusBar().currentMessage()
    played = []
    window.presentation.playRequested.connect(lambda: played.append(True))
    window.statusBar().clearMessage()
    action.trigger()
    assert played == [True] and window.statusBar().currentMessage() == ""


@pytest.mark.parametrize("keys", ["F11", "PgDown", "PgUp", "P", "G", "R", "F1"])
def test_the_help_lists_the_demo_keys(window, keys):
    rows = shortcut_rows(window.actions())
    assert any(keys in row[0].split(" or ") and row[2] for row in rows)


def test_the_help_dialog_shows_every_shortcut(qtbot, window):
    assert window.presentation.help_action.shortcut().toString() == "F1"
    assert [k.toString() for k in window.presentation.help_action.shortcuts()] == ["F1", "Ctrl+/"]
    dialog = ShortcutsDialog(window.actions(), window)
    qtbot.addWidget(dialog)
    keyed = [a for a in window.actions() if not a.shortcut().isEmpty()]
    assert dialog.table.rowCount() == len(keyed) >= 12
    assert all(dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount()))


def test_every_window_action_has_a_tooltip_and_status_tip(window):
    missing = [a.text() for a in window.actions() if not (a.toolTip() and a.statusTip())]
    assert not missing


def test_the_projector_look_keeps_its_share_of_the_picture_on_smaller_screens():
    assert theme.projector_look(1080) is theme.PROJECTOR and theme.projector_look(2160) is theme.PROJECTOR
    small = theme.projector_look(768)  # a 1024x768 projector throws the same picture size
    assert small.font_scale == pytest.approx(1.6 * 768 / 1080)
    assert small.marker_scale == pytest.approx(1.8 * 768 / 1080) and small.line_scale == pytest.approx(2 * 768 / 1080)
    assert small.window == theme.PROJECTOR.window and small.bright_classes
    tiny = theme.projector_look(480)
    assert tiny.font_scale == 1.0 and tiny.marker_scale == 1.0  # never below the normal size


def test_on_a_short_screen_presentation_mode_hides_the_training_panel_and_t_brings_it_back(
        qtbot, presenting):
    from latentlab.ui.main.presentation import COMPACT_BELOW_HEIGHT, DECODED_SHARE

    window = presenting
    window.resize(760, 700)  # inside the offscreen screen (800 x 800), so the geometry restores exactly
    qtbot.wait(10)
    window.top_splitter.setSizes([380, 370])  # a wide decoded view, unlike presentation mode's
    assert window.screen().geometry().height() < COMPACT_BELOW_HEIGHT
    assert window.bottom_action.isChecked() and window.bottom.isVisible()
    sizes = window.top_splitter.sizes()
    window.presentation.set_active(True)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    assert not window.bottom_action.isChecked() and not window.bottom.isVisible()
    assert "T for the training panel" in window.statusBar().currentMessage()
    left, right = window.top_splitter.sizes()
    assert right / (left + right) == pytest.approx(DECODED_SHARE, abs=0.05)  # the digit gets more room
    assert window.bottom_action.shortcut().toString() == "T"
    window.bottom_action.trigger()
    assert window.bottom.isVisible()
    window.bottom_action.trigger()
    window.presentation.set_active(False)
    assert window.bottom_action.isChecked() and window.bottom.isVisible()  # as before presentation mode
    share = sizes[1] / sum(sizes)
    qtbot.waitUntil(lambda: abs(window.top_splitter.sizes()[1] / sum(window.top_splitter.sizes()) - share) < 0.02,
                    timeout=5000)


def panels_in_the_look(window) -> list[str]:
    """Every plot panel's title, legend and note against the current look (empty: all in it)."""
    look = theme.current()
    wrong = []
    plots = [*window.loss_plot._plots.values(), window.beta_panel.kl.getPlotItem()]
    for plot, base in zip(plots, [10.0] * (len(plots) - 1) + [11.0]):
        title = plot.titleLabel
        if title.opts.get("size") != f"{base * look.font_scale:.1f}pt" or title.opts.get("color") != look.muted:
            wrong.append(f"title {title.text!r}: {title.opts.get('size')} {title.opts.get('color')}")
        legend = plot.legend
        if legend is not None:
            if legend.opts["brush"].color().name() != look.plot_background:
                wrong.append(f"legend background {legend.opts['brush'].color().name()}")
            for _sample, label in legend.items:
                if label.opts.get("size") != f"{8 * look.font_scale:.1f}pt":
                    wrong.append(f"legend label {label.text!r}: {label.opts.get('size')}")
    return wrong


def test_switching_models_in_presentation_mode_with_the_dock_open_keeps_every_panel_current(
        qtbot, presenting, checkpoints, dialog_log):
    window = presenting
    panel = window.training_panel
    window.presentation.set_active(True)
    window.analysis.interpolate_action.trigger()
    qtbot.waitUntil(lambda: window.analysis.path is not None, timeout=20_000)
    panel.hidden.setValue(32)
    panel.epochs.setValue(1)
    with qtbot.waitSignal(window.trainingEnded, timeout=60_000):
        window.start_training()  # leaves "trained 1 epoch"-style news in the progress bar
    assert panel.progress.format() != "idle"
    assert not panels_in_the_look(window)

    assert window.open_checkpoint(checkpoints["gan"])  # Page Down to a GAN, say
    assert window.presentation.active and window.analysis.dock.isVisible()
    assert window.loss_plot.parts[:2] == ("loss", "d_loss")
    assert not panels_in_the_look(window)  # titles kept their size, the legend its black
    assert "no KL term" in window.beta_panel.kl.getPlotItem().titleLabel.text
    assert panel.progress.format() == "idle" and panel.progress.value() == 0  # not the VAE's run
    assert panel.summary.text().startswith("GAN")
    assert window.status_model.text().startswith("model: gan")

    assert window.open_checkpoint(checkpoints["vae"])  # and back
    assert not panels_in_the_look(window)
    assert "1 of 2 active" in window.beta_panel.kl.getPlotItem().titleLabel.text
    assert panel.summary.text().startswith("VAE") and panel.progress.format() == "idle"
    window.presentation.set_active(False)
    assert not panels_in_the_look(window)  # and the normal look again, sizes and colours


def test_the_shortcut_list_shows_every_row_at_a_readable_height(qtbot, window):
    for on in (False, True):
        window.presentation.set_active(on)
        dialog = show_shortcuts(window.actions(), window)
        qtbot.addWidget(dialog)
        qtbot.waitExposed(dialog)
        table = dialog.table
        line = table.fontMetrics().lineSpacing()
        heights = [table.rowHeight(r) for r in range(table.rowCount())]
        assert max(heights) <= 3 * line + 12, heights  # two lines of description at most, not 150-330 px
        assert sum(heights) <= table.viewport().height()  # every row at once, no scrolling
        assert dialog.frameGeometry().height() <= window.screen().availableGeometry().height()
        dialog.close()
    window.presentation.set_active(False)


def test_the_play_button_draws_its_icon_in_the_looks_text_colour(qtbot, window):
    button = window.analysis.strip_view.play_button
    assert button.text() == "Play" and not button.icon().isNull()  # no glyph: "⏸" was an empty box
    for on in (False, True):
        window.presentation.set_active(on)
        image = button.icon().pixmap(32, 32).toImage()
        colours = {image.pixelColor(x, y).name() for x in range(32) for y in range(32)
                   if image.pixelColor(x, y).alpha() == 255}
        assert QApplication.palette().buttonText().color().name() in colours
    window.presentation.set_active(False)
