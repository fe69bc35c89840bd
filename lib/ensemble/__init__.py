"""Combining models: soft voting over image members (voting.py) and late fusion of modalities (fusion.py)."""
