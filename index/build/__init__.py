"""Building: the steps every engine's build shares (scan the corpus, diff it against the last
build, parse, plan passages, embed them) and the manifest an index is built with. It writes no
index itself: each engine (`index/backends/`) does, and `index.backends.build_index` is where a
build starts.
"""

from .manifest import Manifest
from .pipeline import BuildReport, ProgressFactory

__all__ = ["BuildReport", "Manifest", "ProgressFactory"]
