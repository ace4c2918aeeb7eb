"""Every custom action the action server registers (every class with a ``name()`` in
``actions/*.py``) has tracker-JSON unit tests in this folder, and every action the
domain lists exists."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from rasa_sdk import Action

import actions
from tests.actions import (
    test_conversation_actions,
    test_csat_actions,
    test_honest_answers,
    test_order_actions,
    test_recommend_actions,
    test_search_actions,
    test_session_start,
)


def served_actions() -> dict[str, type[Action]]:
    """name -> class of every concrete action defined in the ``actions`` package."""
    found: dict[str, type[Action]] = {}
    for module_info in pkgutil.iter_modules(actions.__path__):
        if module_info.name.startswith("__"):
            continue
        module = importlib.import_module(f"actions.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == module.__name__ and not inspect.isabstract(cls):
                found[cls().name()] = cls
    return found


def test_every_action_has_unit_tests() -> None:
    covered = {cls().name() for module in (test_conversation_actions, test_honest_answers, test_order_actions,
                                           test_recommend_actions, test_search_actions, test_session_start,
                                           test_csat_actions)
               for cls in module.COVERED}
    served = served_actions()
    assert len(served) == 29
    assert sorted(set(served) - covered) == [], "actions without tracker-JSON unit tests"


def test_domain_actions_are_served(domain: dict) -> None:
    listed = set(domain["actions"])
    assert listed <= set(served_actions()), sorted(listed - set(served_actions()))
