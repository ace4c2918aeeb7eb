"""The wire formats both processes share (the Rasa server's channels and the action
server's apps): the handoff relay and gate messages and their signatures, and the signed
customer id. Standard library only; imports nothing of the project's."""
