"""Demo shop: vocabulary, policies and the seeded data generator."""
