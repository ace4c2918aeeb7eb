"""Product search as a service: the query and result types (``query``), SQL filters and
the SQL backend, the semantic backend over the retrieval index (``semantic``) and the
backend registry (``backends``)."""
