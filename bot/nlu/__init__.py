"""Custom Rasa NLU components (loaded by ``config.yml``): dense sentence features from
the shop's MiniLM, and a language check that answers non-English messages honestly."""
