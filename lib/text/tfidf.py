"""TF-IDF features: word n-grams + character n-grams in one FeatureUnion."""
from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion


def make_tfidf(word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (3, 5),
               min_df: int = 1, max_features: int | None = None, sublinear_tf: bool = True,
               strip_accents: str | None = None) -> FeatureUnion:
    """Word (1,2) + char_wb (3,5) TF-IDF with sublinear tf, as in both text studies.

    Args:
        word_ngrams / char_ngrams: n-gram ranges of the two vectorisers.
        min_df: ignore terms seen in fewer documents (both vectorisers).
        max_features: cap each vectoriser's vocabulary (None = no cap).
        strip_accents: None keeps accents; "unicode" folds them (typos without accents in the data).
    """
    common = dict(sublinear_tf=sublinear_tf, min_df=min_df, max_features=max_features,
                  strip_accents=strip_accents, lowercase=True)
    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=word_ngrams, token_pattern=r"(?u)\b\w+\b", **common)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, **common)),
    ])
