"""Maintainer scripts: drawing step cards, indexing the source article."""
