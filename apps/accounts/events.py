"""What accounts announces."""

from dataclasses import dataclass

from foodiefast.events import Event


@dataclass(frozen=True)
class UserRegistered(Event):
    user_id: str
    role: str


@dataclass(frozen=True)
class UserErased(Event):
    user_id: str
