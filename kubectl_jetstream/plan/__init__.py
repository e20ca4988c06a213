"""Planning: definitions (streams.d) vs the server -> actions, with the server's defaults filled in. Pure.

actions.py  plan(): the actions in the order they are carried out; which unmanaged streams/consumers exist
compare.py  what differs (semantically) and what the server refuses to change in place; the configs to send
loss.py     which updates and consumer deletions remove messages, and how many

This module is the package's public face: commands import from `kubectl_jetstream.plan`.
"""
from .actions import Action, name_order, plan, unmanaged, unmanaged_consumers
from .compare import Change
from .loss import deletion_loss, drops_with_consumers, message_loss

__all__ = ["Action", "Change", "deletion_loss", "drops_with_consumers", "message_loss", "name_order", "plan",
           "unmanaged", "unmanaged_consumers"]
