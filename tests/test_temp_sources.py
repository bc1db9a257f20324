"""PyTensor's generated numba sources stay in one folder per process, removed at exit."""

from __future__ import annotations

import os
import subprocess
import sys


def test_generated_sources_are_removed_when_the_process_exits(tmp_path):
    code = """
import os
from pytensor.link.utils import compile_function_src
from footdrop_bayes.model import temp_sources
temp_sources.contain()
temp_sources.contain()                           # idempotent
f = compile_function_src("def f(x):\\n    return x + 1\\n", "f")
assert f(1) == 2
src = f.__code__.co_filename
assert os.path.dirname(src) == temp_sources.folder(), (src, temp_sources.folder())
assert open(src).read().startswith("def f(x)")
print(temp_sources.folder())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ | {"TMPDIR": str(tmp_path)}, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = done.stdout.strip().splitlines()[-1]
    assert folder.startswith(str(tmp_path)) and "footdrop-bayes-pytensor-" in folder
    assert not os.path.exists(folder)
    assert list(tmp_path.iterdir()) == []        # nothing else left behind either
