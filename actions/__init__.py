"""Custom actions for the Rasa assistant (served by the rasa-sdk action server).

Actions stay thin: read slots, call a service in ``shop.services`` through
``actions.runtime.call_service`` (off the event loop, with a timeout), utter
responses by name, return events.
"""

import warnings

# The Rasa server runs rasa 3.6.21 (Python 3.10, TensorFlow 2.12) while the action
# server runs rasa-sdk 3.21 (Python 3.11, torch): the two cannot share one
# environment. rasa-sdk compares major.minor of both on every request and warns
# when they differ. The webhook protocol we use (slots, events, buttons, custom
# payloads) is unchanged between them and is covered by the end-to-end tests,
# so the warning is known and silenced here, and only here.
warnings.filterwarnings(
    "ignore",
    message=r"Your versions of rasa and rasa_sdk might not be compatible",
    category=UserWarning,
)
