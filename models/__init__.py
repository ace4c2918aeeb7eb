"""The shop's models, as two independent packages: ``models.recsys`` (the preference
model and recommendation baselines) and ``models.llm`` (the chat-model layer). Neither
imports the other."""
