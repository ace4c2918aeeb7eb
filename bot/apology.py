"""The apology a shopper gets when the assistant ran but said nothing (a custom action
failed, e.g. the action server is down) or the dialogue raised.

:func:`apologising` wraps the dialogue's ``on_new_message`` *inside* the handoff gate,
so it only runs when the gate routed the message to the bot: while people have the
conversation the bot rightly says nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again."
#: messages the dialogue answers with silence on purpose (the widget's "new conversation")
SILENT_COMMANDS = frozenset({"/restart"})

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def messages_sent(output: OutputChannel | None) -> int | None:
    """How many messages ``output`` has sent so far: the REST collector's list, or the
    ``sent`` counter of an output that keeps one; ``None`` when it cannot tell."""
    if isinstance(output, CollectingOutputChannel):
        return len(output.messages)
    sent = getattr(output, "sent", None)
    return sent if isinstance(sent, int) else None


def apologising(on_new_message: OnNewMessage) -> OnNewMessage:
    """``on_new_message`` that sends :data:`APOLOGY` on the message's output channel
    when the dialogue sent nothing at all (except for :data:`SILENT_COMMANDS`)."""

    async def run(message: UserMessage) -> None:
        output = message.output_channel
        before = messages_sent(output)
        await on_new_message(message)
        if before is None or output is None or messages_sent(output) != before:
            return
        if (message.text or "").strip() in SILENT_COMMANDS:
            return
        logger.warning("the dialogue said nothing to %s; apologising", message.sender_id)
        await output.send_text_message(str(message.sender_id), APOLOGY)

    return run
