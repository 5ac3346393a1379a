"""The shared A → B class choosers."""

from PySide6.QtWidgets import QComboBox

from latentlab.ui.analysis.class_pair import fill_class_pair


def test_class_pair_lists_the_classes_and_starts_on_two_different_ones(qtbot):
    a, b = QComboBox(), QComboBox()
    qtbot.addWidget(a)
    qtbot.addWidget(b)
    fill_class_pair(a, b, [str(d) for d in range(10)])
    assert (a.count(), b.count()) == (10, 10)
    assert (a.currentData(), b.currentData()) == (3, 8)
    fill_class_pair(a, b, ["cat", "dog", "fish", "bird"])  # 3 fits, 8 is clamped onto it: moved on
    assert a.currentData() == 3 and b.currentData() != 3 and b.count() == 4
    fill_class_pair(a, b, [])
    assert a.count() == 0 and b.count() == 0
