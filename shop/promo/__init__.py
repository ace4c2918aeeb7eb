"""The promo engine: offers as data, who gets which (eligibility, predicted uplift,
exploration with a fixed control group), unique single-use codes with atomic
redemption, promo copy worded by the LLM and verified, and the A/B report.

- ``offers``: eligibility, discounts, codes and redemption;
- ``features``: what the uplift model knows of a customer (from the database only);
- ``policy``: the offer decision for one customer;
- ``copy``: the promo message (LLM words checked against the terms, else a template);
- ``report``: per-arm results against control, with confidence intervals;
- ``simulate``: the A/B simulation on the demo shop (hidden true uplift).
"""
