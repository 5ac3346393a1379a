"""PyTorch's libraries loaded before ``import torch`` (latentlab/torch_libraries.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload is Linux-only")


def test_the_libraries_load_before_torch_and_torch_works_after():
    script = textwrap.dedent("""
        import sys
        from latentlab.torch_libraries import preload_torch_libraries, torch_library_folder
        assert "torch" not in sys.modules
        loaded = preload_torch_libraries()
        assert "torch" not in sys.modules, "the preload must not import torch"
        maps = open("/proc/self/maps").read()
        assert "libtorch_cpu.so" in loaded and "libtorch_cpu.so" in maps, loaded
        assert str(torch_library_folder()) in maps
        import torch
        print(float((torch.arange(4.0) @ torch.arange(4.0))), preload_torch_libraries())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["14.0", "[]"]  # a second call, torch loaded: nothing to do
