"""The question's words in other languages: a stem-to-stem lexicon for lexical search.

BM25 matches stems, so a Russian question shares no word with an English article and the
lexical half of hybrid search stays silent exactly where readers need it most. The lexicon,
learned by `khabar lexicon train` from the parallel sentences of `../shared/train/parallel`
(IBM Model 1 in both directions, `align`) and shipped as `lexicon.json`, gives each stem of
ru, az, kk, tr and uz its English stems (`table`): the retriever searches for those too
(docs/lexicon.md).
"""

from .align import Translations, align
from .table import LEXICON_PATH, Lexicon, load_lexicon
from .train import train

__all__ = ["LEXICON_PATH", "Lexicon", "Translations", "align", "load_lexicon", "train"]
