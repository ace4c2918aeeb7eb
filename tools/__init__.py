"""Tools that build data for the shop: the demo shop generator, the catalog importer and
the search relevance labels. Only tools and tests import this package."""
