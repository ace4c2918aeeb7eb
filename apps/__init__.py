"""Applications over the core domain: the demo storefront, the staff console and the
command line. Apps import the core (``shop``) and the ML packages; nothing below imports
them."""
