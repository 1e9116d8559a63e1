"""The Klarna Hosted Payment Page session lifecycle, from the hpp-status Rust crate."""

from typing import ClassVar, List, Optional, Union

__version__: str

class TransitionError(ValueError):
    """An action the transition table does not allow; ``str()`` is the reason."""

class Status:
    """The status of a Hosted Payment Page session; ``str()`` is its wire name."""

    WAITING: ClassVar["Status"]
    IN_PROGRESS: ClassVar["Status"]
    COMPLETED: ClassVar["Status"]
    FAILED: ClassVar["Status"]
    CANCELLED: ClassVar["Status"]
    BACK: ClassVar["Status"]
    ERROR: ClassVar["Status"]
    DISABLED: ClassVar["Status"]

    @staticmethod
    def parse(text: str) -> "Status":
        """The status named exactly ``text``; ``ValueError`` naming it otherwise."""
    @property
    def is_final(self) -> bool:
        """Whether the session can never change again (COMPLETED, CANCELLED, DISABLED)."""
    def can_transition_to(self, other: "Status") -> bool:
        """Whether ``other`` is one direct step away."""
    def can_reach(self, other: "Status") -> bool:
        """Whether ``other`` can follow after one or more steps."""
    def apply(self, action: "Action") -> "Status":
        """The status after ``action``; ``TransitionError`` saying why not."""
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...

class Action:
    """An event that moves a session one step; ``str()`` is its name, such as ``"EnterPage"``."""

    ENTER_PAGE: ClassVar["Action"]
    AUTHORIZE: ClassVar["Action"]
    DECLINE: ClassVar["Action"]
    CANCEL: ClassVar["Action"]
    GO_BACK: ClassVar["Action"]
    FAIL: ClassVar["Action"]
    DISABLE: ClassVar["Action"]

    @property
    def target(self) -> Status:
        """The status the action leads to."""
    def __int__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...

class Outcome:
    """What one delivery meant to a ``Tracker``; ``str()`` says it in the crate's words."""

    @property
    def kind(self) -> str:
        """``"advanced"``, ``"duplicate"``, ``"stale"`` or ``"conflict"``."""
    @property
    def became_final(self) -> bool:
        """True exactly for the delivery that made the tracker final (or changed its final)."""
    @property
    def status(self) -> Status:
        """The status the tracker holds after the delivery."""
    @property
    def updated_at(self) -> str:
        """The ``updated_at`` the tracker holds, as the crate writes it (UTC, milliseconds)."""

class Session:
    """A Read Session body or a status callback, read leniently."""

    @property
    def status(self) -> Optional[str]:
        """The status as the wire wrote it, known or not (``"TIMEOUT"``...)."""
    @property
    def updated_at(self) -> Optional[str]:
        """``updated_at`` written back as the crate writes it, or ``None`` when absent or unusable."""
    @property
    def expires_at(self) -> Optional[str]: ...
    @property
    def session_id(self) -> Optional[str]: ...
    @property
    def authorization_token(self) -> Optional[str]: ...
    @property
    def order_id(self) -> Optional[str]: ...
    @property
    def klarna_reference(self) -> Optional[str]: ...
    @property
    def event_id(self) -> Optional[str]:
        """A callback's ``event_id``; always ``None`` for a Read Session body."""
    @property
    def problems(self) -> List[str]:
        """The paths of the fields whose values could not be used, such as ``"expires_at"``."""
    @property
    def problem_messages(self) -> List[str]:
        """Why each of the session's fields could not be used."""

def parse_session(body: Union[str, bytes]) -> Session:
    """A Read Session body; ``ValueError`` when it is not a JSON object."""

def parse_callback(body: Union[str, bytes]) -> Session:
    """A status callback body; ``ValueError`` when it is not an object with a ``session`` object."""

class Tracker:
    """Merges every report of one session into the one status to believe."""

    def __init__(self) -> None: ...
    def observe(self, status: Union[Status, str], updated_at: str) -> Outcome:
        """One delivery: a status (or its wire name) and its RFC 3339 ``updated_at``."""
    def observe_session(self, session: Session) -> Outcome:
        """A parsed session; ``ValueError`` saying why when it cannot be ordered."""
    @property
    def status(self) -> Optional[Status]:
        """The status to believe, ``None`` before any observation."""
    @property
    def updated_at(self) -> Optional[str]: ...
    def to_json(self) -> str:
        """The stored form: exactly the Rust crate's JSON."""
    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Tracker":
        """A tracker from its stored form; ``ValueError`` for unknown or missing fields."""
