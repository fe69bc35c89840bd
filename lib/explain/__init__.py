"""Interpretability: global weights of linear models and LIME explanations."""
