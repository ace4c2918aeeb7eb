"""Tools that build data for the shop: the demo shop generator, the generated NLU data
and the search relevance labels. Only tools and tests import this package (catalog
imports are in the core: :mod:`shop.importing`)."""
